import type { EventObject } from 'xstate';
import { PAGE_SIZE } from '../memory/atomic-units.ts';
import { type MemoryImage, type PageType, pageFault } from '../memory/guest-memory.ts';
import type { AccessResult, Bytes, LockMode, MemoryFault } from '../model/operation.ts';
import type { LockKind } from '../runtime/locks.ts';

/**
 * The state the actors of a free-running `live` run share (DESIGN §2, "Worker threads"),
 * all in SharedArrayBuffers so every worker thread sees the same bytes:
 * - guest memory, page by page. A unit the model calls single-copy atomic (naturally
 *   aligned, 1, 2, 4 or 8 bytes) is one `Atomics` load or store of that width; a split
 *   access is separate smaller ones, as the hardware does;
 * - the locks, one Int32 each: 0 free, -1 held exclusively, n > 0 held shared n times,
 *   taken by compare-and-exchange and waited for with `Atomics.wait`;
 * - a channel per (sender, receiver) pair, a single-producer single-consumer ring of
 *   JSON messages, and a doorbell per actor that `Atomics.notify` rings;
 * - the control words: the step ticket counter (the order the post-run check replays),
 *   the logical clock, the stop flag, the start barrier, each actor's status, doorbell
 *   and step count.
 */
export interface SharedWorldBuffers {
  readonly memory: SharedArrayBuffer;
  /** Declared pages, in the order they sit in `memory`: page number and type. */
  readonly pages: readonly (readonly [number, PageType])[];
  readonly locks: SharedArrayBuffer;
  readonly lockNames: readonly string[];
  readonly lockKinds: readonly LockKind[];
  readonly channels: SharedArrayBuffer;
  readonly actors: readonly string[];
  readonly control: SharedArrayBuffer;
}

/** Each channel's bytes (JSON messages with a 4-byte length). */
export const CHANNEL_BYTES = 64 * 1024;
const CHANNEL_HEADER = 8;

/** Control words. */
const TICKET = 0;
const CLOCK = 1;
const STOP = 2;
const READY = 3;
const CONTROL_FIXED = 4;

export enum Status {
  Running = 1,
  Idle = 2,
  Blocked = 3,
  Done = 4,
}

export function makeWorldBuffers(
  image: MemoryImage,
  locks: Readonly<Record<string, LockKind>>,
  actors: readonly string[],
): SharedWorldBuffers {
  const pages = [...image.pages].map(([pfn, p]) => [pfn, p.type] as const);
  const n = actors.length;
  return {
    memory: new SharedArrayBuffer(pages.length * PAGE_SIZE),
    pages,
    locks: new SharedArrayBuffer(4 * Math.max(1, Object.keys(locks).length)),
    lockNames: Object.keys(locks),
    lockKinds: Object.values(locks),
    channels: new SharedArrayBuffer(n * n * (CHANNEL_HEADER + CHANNEL_BYTES)),
    actors,
    // Fixed words, then per actor: status, doorbell, steps.
    control: new SharedArrayBuffer(4 * (CONTROL_FIXED + 3 * n)),
  };
}

export class SharedWorld {
  private readonly bytes: Uint8Array;
  private readonly i16: Int16Array;
  private readonly i32: Int32Array;
  private readonly i64: BigInt64Array;
  private readonly pageIndex = new Map<number, { index: number; type: PageType }>();
  readonly lockWords: Int32Array;
  private readonly lockIndex = new Map<string, number>();
  private readonly chan: Uint8Array;
  private readonly chanWords: Int32Array;
  readonly control: Int32Array;
  private readonly actorIndex = new Map<string, number>();
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder();

  constructor(readonly buffers: SharedWorldBuffers) {
    this.bytes = new Uint8Array(buffers.memory);
    this.i16 = new Int16Array(buffers.memory);
    this.i32 = new Int32Array(buffers.memory);
    this.i64 = new BigInt64Array(buffers.memory);
    buffers.pages.forEach(([pfn, type], index) => {
      this.pageIndex.set(pfn, { index, type });
    });
    this.lockWords = new Int32Array(buffers.locks);
    buffers.lockNames.forEach((name, i) => {
      this.lockIndex.set(name, i);
    });
    this.chan = new Uint8Array(buffers.channels);
    this.chanWords = new Int32Array(buffers.channels);
    this.control = new Int32Array(buffers.control);
    buffers.actors.forEach((a, i) => {
      this.actorIndex.set(a, i);
    });
  }

  // ---------------------------------------------------------------- memory

  /** Puts every byte back to the image and frees every lock and channel (before a run). */
  reset(image: MemoryImage): void {
    for (const [pfn, p] of image.pages) {
      const at = this.pageIndex.get(pfn)!.index * PAGE_SIZE;
      this.bytes.set(p.bytes, at);
    }
    this.lockWords.fill(0);
    this.chanWords.fill(0);
    this.control.fill(0);
  }

  private offset(addr: number): number {
    const p = this.pageIndex.get(Math.floor(addr / PAGE_SIZE));
    if (!p) throw new Error(`address 0x${addr.toString(16)} is outside the declared guest memory`);
    return p.index * PAGE_SIZE + (addr % PAGE_SIZE);
  }

  /** As GuestMemory.fault (an undeclared address fails at the access). */
  fault(addr: number, kind: 'read' | 'write'): MemoryFault | undefined {
    const t = this.pageIndex.get(Math.floor(addr / PAGE_SIZE))?.type;
    return t === undefined ? undefined : pageFault(t, kind);
  }

  /** One unit, read with one atomic load when it is naturally aligned and 1, 2, 4 or 8 bytes. */
  readUnit(addr: number, width: number): AccessResult {
    const fault = this.fault(addr, 'read');
    if (fault) return { ok: false, fault, addr };
    return { ok: true, bytes: this.load(addr, width) };
  }

  writeUnit(addr: number, bytes: Bytes): AccessResult {
    const fault = this.fault(addr, 'write');
    if (fault) return { ok: false, fault, addr };
    this.store(addr, bytes);
    return { ok: true, bytes };
  }

  /** Raw bytes, ignoring page types. */
  load(addr: number, width: number): number[] {
    const at = this.offset(addr);
    if (at % width === 0) {
      if (width === 1) return [Atomics.load(this.bytes, at)];
      if (width === 2) return le(Atomics.load(this.i16, at / 2) & 0xffff, 2);
      if (width === 4) return le(Atomics.load(this.i32, at / 4) >>> 0, 4);
      if (width === 8) return le(BigInt.asUintN(64, Atomics.load(this.i64, at / 8)), 8);
    }
    const out: number[] = [];
    for (let i = 0; i < width; i++) out.push(Atomics.load(this.bytes, this.offset(addr + i)));
    return out;
  }

  store(addr: number, bytes: Bytes): void {
    const at = this.offset(addr);
    const w = bytes.length;
    if (at % w === 0 && (w === 2 || w === 4 || w === 8)) {
      const v = fromLe(bytes);
      if (w === 2) Atomics.store(this.i16, at / 2, Number(v));
      else if (w === 4) Atomics.store(this.i32, at / 4, Number(BigInt.asIntN(32, v)));
      else Atomics.store(this.i64, at / 8, BigInt.asIntN(64, v));
      return;
    }
    for (let i = 0; i < w; i++) Atomics.store(this.bytes, this.offset(addr + i), bytes[i] & 0xff);
  }

  /** An atomic compare-and-exchange of one naturally aligned unit. */
  cmpxchg(addr: number, expected: Bytes, desired: Bytes): { ok: boolean; old: number[] } {
    const at = this.offset(addr);
    const w = desired.length;
    const e = fromLe(expected);
    const d = fromLe(desired);
    let old: bigint;
    if (w === 1) old = BigInt(Atomics.compareExchange(this.bytes, at, Number(e), Number(d)));
    else if (w === 2)
      old = BigInt(
        Atomics.compareExchange(
          this.i16,
          at / 2,
          Number(BigInt.asIntN(16, e)),
          Number(BigInt.asIntN(16, d)),
        ) & 0xffff,
      );
    else if (w === 4)
      old = BigInt(
        Atomics.compareExchange(
          this.i32,
          at / 4,
          Number(BigInt.asIntN(32, e)),
          Number(BigInt.asIntN(32, d)),
        ) >>> 0,
      );
    else
      old = BigInt.asUintN(
        64,
        Atomics.compareExchange(this.i64, at / 8, BigInt.asIntN(64, e), BigInt.asIntN(64, d)),
      );
    return { ok: old === e, old: le(old, w) };
  }

  // ---------------------------------------------------------------- locks

  lock(name: string): number {
    const i = this.lockIndex.get(name);
    if (i === undefined) throw new Error(`unknown lock '${name}'`);
    return i;
  }

  /** Takes the lock if it is free for `mode`, atomically. */
  tryLock(i: number, mode: LockMode): boolean {
    if (mode === 'exclusive') return Atomics.compareExchange(this.lockWords, i, 0, -1) === 0;
    for (;;) {
      const s = Atomics.load(this.lockWords, i);
      if (s < 0) return false;
      if (Atomics.compareExchange(this.lockWords, i, s, s + 1) === s) return true;
    }
  }

  unlock(i: number, mode: LockMode): void {
    if (mode === 'exclusive') Atomics.store(this.lockWords, i, 0);
    else Atomics.sub(this.lockWords, i, 1);
    Atomics.notify(this.lockWords, i);
  }

  // ---------------------------------------------------------------- channels

  private channel(from: number, to: number): { words: number; data: number } {
    const base = (from * this.buffers.actors.length + to) * (CHANNEL_HEADER + CHANNEL_BYTES);
    return { words: base / 4, data: base + CHANNEL_HEADER };
  }

  /** Puts a message in the (from, to) channel and rings the receiver's doorbell. */
  put(from: string, to: string, ev: EventObject): void {
    const f = this.actorIndex.get(from)!;
    const t = this.actorIndex.get(to)!;
    const c = this.channel(f, t);
    const msg = this.encoder.encode(JSON.stringify(ev));
    const head = Atomics.load(this.chanWords, c.words);
    const tail = Atomics.load(this.chanWords, c.words + 1);
    if (tail + 4 + msg.length - head > CHANNEL_BYTES)
      throw new Error(`the channel from '${from}' to '${to}' is full (${CHANNEL_BYTES} bytes unread)`);
    const put = (pos: number, b: number) => {
      this.chan[c.data + (pos % CHANNEL_BYTES)] = b;
    };
    for (let k = 0; k < 4; k++) put(tail + k, (msg.length >>> (8 * k)) & 0xff);
    for (let k = 0; k < msg.length; k++) put(tail + 4 + k, msg[k]);
    // Publish the bytes before the new tail.
    Atomics.store(this.chanWords, c.words + 1, tail + 4 + msg.length);
    this.ring(t);
  }

  /** Is a message waiting in the (from, to) channel? */
  waiting(from: number, to: number): boolean {
    const c = this.channel(from, to);
    return Atomics.load(this.chanWords, c.words + 1) !== Atomics.load(this.chanWords, c.words);
  }

  take(from: number, to: number): EventObject | undefined {
    if (!this.waiting(from, to)) return undefined;
    const c = this.channel(from, to);
    const head = Atomics.load(this.chanWords, c.words);
    const get = (pos: number) => this.chan[c.data + (pos % CHANNEL_BYTES)];
    let len = 0;
    for (let k = 0; k < 4; k++) len |= get(head + k) << (8 * k);
    const msg = new Uint8Array(len);
    for (let k = 0; k < len; k++) msg[k] = get(head + 4 + k);
    Atomics.store(this.chanWords, c.words, head + 4 + len);
    return JSON.parse(this.decoder.decode(msg)) as EventObject;
  }

  /** Does any channel hold a message? */
  anyWaiting(): boolean {
    const n = this.buffers.actors.length;
    for (let f = 0; f < n; f++) for (let t = 0; t < n; t++) if (this.waiting(f, t)) return true;
    return false;
  }

  // ---------------------------------------------------------------- control

  ticket(): number {
    return Atomics.add(this.control, TICKET, 1);
  }

  /** Tickets taken so far (a step whose ticket is not the last one overlapped another). */
  tickets(): number {
    return Atomics.load(this.control, TICKET);
  }

  now(): number {
    return Atomics.add(this.control, CLOCK, 1) + 1;
  }

  stop(): void {
    Atomics.store(this.control, STOP, 1);
    for (let i = 0; i < this.buffers.actors.length; i++) this.ring(i);
    Atomics.notify(this.lockWords, 0);
    for (let i = 0; i < this.lockWords.length; i++) Atomics.notify(this.lockWords, i);
  }

  /**
   * Waits until every actor's thread has reached this point (or the run is stopped), so
   * that the threads start their machines together and really run at once.
   */
  startTogether(): void {
    const n = this.buffers.actors.length;
    Atomics.add(this.control, READY, 1);
    Atomics.notify(this.control, READY);
    for (
      let r = Atomics.load(this.control, READY);
      r < n && !this.stopped;
      r = Atomics.load(this.control, READY)
    )
      Atomics.wait(this.control, READY, r, 5);
  }

  get stopped(): boolean {
    return Atomics.load(this.control, STOP) === 1;
  }

  status(actor: number): Status {
    return Atomics.load(this.control, CONTROL_FIXED + 3 * actor) as Status;
  }

  setStatus(actor: number, s: Status): void {
    Atomics.store(this.control, CONTROL_FIXED + 3 * actor, s);
  }

  doorbell(actor: number): number {
    return Atomics.load(this.control, CONTROL_FIXED + 3 * actor + 1);
  }

  ring(actor: number): void {
    Atomics.add(this.control, CONTROL_FIXED + 3 * actor + 1, 1);
    Atomics.notify(this.control, CONTROL_FIXED + 3 * actor + 1);
  }

  /** Sleeps until the actor's doorbell rings (or `ms` pass). */
  waitDoorbell(actor: number, seen: number, ms: number): void {
    Atomics.wait(this.control, CONTROL_FIXED + 3 * actor + 1, seen, ms);
  }

  countStep(actor: number): void {
    Atomics.add(this.control, CONTROL_FIXED + 3 * actor + 2, 1);
  }

  steps(actor: number): number {
    return Atomics.load(this.control, CONTROL_FIXED + 3 * actor + 2);
  }
}

function le(v: bigint | number, width: number): number[] {
  let x = BigInt(v);
  const out: number[] = [];
  for (let i = 0; i < width; i++) {
    out.push(Number(x & 0xffn));
    x >>= 8n;
  }
  return out;
}

function fromLe(bytes: Bytes): bigint {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i] & 0xff);
  return v;
}
