/**
 * Data races by happens-before (DESIGN §2, "Checkers"): vector clocks with FastTrack's
 * epochs (C. Flanagan and S. N. Freund, "FastTrack: efficient and precise dynamic race
 * detection", PLDI 2009), with atomic accesses treated as KCSAN treats marked accesses
 * (Linux, Documentation/dev-tools/kcsan.rst) and a seqlock rule for reads racy by design.
 *
 * Happens-before is program order plus these synchronisation edges:
 * - a message's send → its delivery: the sender's clock travels with the message through
 *   its FIFO channel (one per sender and receiver, as src/runtime/mailbox.ts has them);
 * - a lock's release → a later acquisition (blocking, or a successful tryAcquire). An
 *   rwlock keeps two clocks: what writers released (every acquisition takes it) and what
 *   everyone released (only an exclusive acquisition takes it: readers do not order each
 *   other, and a shared release commutes with a shared acquisition in the model);
 * - an `atomic` write (and every cmpxchg) releases into the clock of each byte it writes,
 *   joined with the earlier atomic writes' (the memory is sequentially consistent: a read
 *   that sees the last atomic write sees every earlier one); an `atomic` read (and every
 *   cmpxchg) acquires from the clocks of the bytes it reads.
 * An access declared `atomic` that the hardware splits into several single-copy-atomic
 * units (src/memory/atomic-units.ts) counts as plain, as KCSAN does: each unit is its own
 * step and a reader can see half of it.
 *
 * Per byte, FastTrack's shadow state: the last plain write as one epoch (plain writes to a
 * byte are totally ordered until the first race, where checking stops), and sets of
 * atomic writes, plain reads and atomic reads, each one epoch until accesses in it are
 * concurrent, then one entry per actor (FastTrack's read vector clock). An entry that
 * happens before a new one in its set is dropped: whatever is concurrent with the old one
 * and ordered after the new one cannot exist. An epoch is the index of the access in the
 * detector's log, which holds its actor, clock, step, range, kind and tag for the report.
 *
 * A race is two accesses to overlapping bytes by different actors, at least one a write,
 * that happens-before does not order, unless both are atomic. `racy` reads (data_race(),
 * a seqlock's read side) are never reported, except for a scenario seqlock (SeqlockSpec):
 * a write unit into its data is covered when the flag bits are set in memory just before
 * or just after it; a racy read of data bytes concurrent with a write unit that was not
 * covered, in either order, is a race (a reader could validate a torn copy).
 *
 * The state is rebuilt from an append-only event log: a checkpoint is the log and its
 * length, and resuming replays the log's prefix into fresh state, so two resumptions of one
 * checkpoint share nothing mutable.
 */

import type { LockMode } from '../model/operation.ts';
import { hex } from '../model/operation.ts';
import type { Bug } from '../runtime/step.ts';
import type { SeqlockSpec } from '../scenario/define-scenario.ts';

/** How a memory step is classified (see the header). */
export type AccessKind = 'read' | 'write' | 'cmpxchg';
export type DeclaredSync = 'plain' | 'atomic' | 'racy';

export interface RaceCheckpoint {
  readonly log: readonly number[];
  readonly tags: readonly (string | undefined)[];
  readonly length: number;
}

// Event layout in the log: [type, actor, a, b, c, step, clock, spare].
const S = 8;
const MEM = 0;
const SEND = 1;
const DELIVER = 2;
const ACQUIRE = 3;
const RELEASE = 4;

// MEM flags (field c).
const KIND_MASK = 3; // 0 read, 1 write, 2 cmpxchg
const DECL_SHIFT = 2; // declared sync: 0 plain, 1 atomic, 2 racy
const SPLIT = 1 << 4; // the access was split into several units
const UNCOVERED = 1 << 5; // a write unit into seqlock data with the flag clear around it

const KINDS: readonly AccessKind[] = ['read', 'write', 'cmpxchg'];
const SYNCS: readonly DeclaredSync[] = ['plain', 'atomic', 'racy'];
const VERBS = ['reads', 'writes', 'cmpxchgs'];

/** -1: none; an event index (an epoch); or one event index per actor (-1: none). */
type Entries = number | Int32Array;

class Shadow {
  pw = -1;
  aw: Entries = -1;
  pr: Entries = -1;
  ar: Entries = -1;
  /** Seqlock data only: write units not covered by the flag, and racy reads. */
  uw: Entries = -1;
  rr: Entries = -1;
  /** What atomic writes of this byte released. */
  sync: Int32Array | undefined = undefined;
}

export class RaceDetector {
  private log: number[] = [];
  private tags: (string | undefined)[] = [];
  private readonly clocks: Int32Array[] = [];
  private readonly channels: Int32Array[][] = [];
  /** Per lock: what its writers released, and what every holder released. */
  private readonly writerClock: Int32Array[] = [];
  private readonly allClock: Int32Array[] = [];
  private readonly lockIndex = new Map<string, number>();
  private readonly shadows = new Map<number, Shadow>();
  private readonly n: number;

  constructor(
    private readonly actors: readonly string[],
    lockNames: readonly string[],
    private readonly seqlocks: readonly SeqlockSpec[],
    from?: RaceCheckpoint,
  ) {
    const n = actors.length;
    this.n = n;
    for (let i = 0; i < n; i++) {
      const c = new Int32Array(n);
      c[i] = 1;
      this.clocks.push(c);
    }
    for (let i = 0; i < n * n; i++) this.channels.push([]);
    lockNames.forEach((name, i) => {
      this.lockIndex.set(name, i);
      this.writerClock.push(new Int32Array(n));
      this.allClock.push(new Int32Array(n));
    });
    if (from) {
      this.log = from.log.slice(0, from.length * S);
      this.tags = from.tags.slice(0, from.length);
      for (let i = 0; i < from.length; i++) this.apply(i);
    }
  }

  checkpoint(): RaceCheckpoint {
    return { log: this.log, tags: this.tags, length: this.tags.length };
  }

  /** The seqlocks whose data a write of [addr, addr + width) touches, for the footprint. */
  seqlocksWritten(addr: number, width: number): SeqlockSpec[] | undefined {
    let out: SeqlockSpec[] | undefined;
    for (const q of this.seqlocks) {
      if (addr < q.data.addr + q.data.len && q.data.addr < addr + width) (out ??= []).push(q);
    }
    return out;
  }

  /**
   * One memory unit. `split`: the operation has more than one unit. `uncovered`: a write
   * unit into seqlock data with the flag clear just before and just after it.
   */
  access(
    actor: number,
    kind: AccessKind,
    addr: number,
    width: number,
    sync: DeclaredSync,
    split: boolean,
    uncovered: boolean,
    step: number,
    tag: string | undefined,
  ): Bug | undefined {
    // A racy read outside every seqlock neither synchronises nor is checked.
    if (sync === 'racy' && !this.inSeqlock(addr, width)) return undefined;
    const flags =
      KINDS.indexOf(kind) |
      (SYNCS.indexOf(sync) << DECL_SHIFT) |
      (split ? SPLIT : 0) |
      (uncovered ? UNCOVERED : 0);
    return this.apply(this.push(MEM, actor, addr, width, flags, step, tag));
  }

  send(from: number, to: number, step: number): void {
    this.apply(this.push(SEND, from, to, 0, 0, step, undefined));
  }

  deliver(from: number, to: number, step: number): void {
    this.apply(this.push(DELIVER, to, from, 0, 0, step, undefined));
  }

  acquire(actor: number, lock: string, mode: LockMode, step: number): void {
    this.apply(
      this.push(ACQUIRE, actor, this.lockIndex.get(lock)!, mode === 'shared' ? 1 : 0, 0, step, undefined),
    );
  }

  release(actor: number, lock: string, exclusive: boolean, step: number): void {
    this.apply(this.push(RELEASE, actor, this.lockIndex.get(lock)!, exclusive ? 0 : 1, 0, step, undefined));
  }

  private push(
    type: number,
    actor: number,
    a: number,
    b: number,
    c: number,
    step: number,
    tag: string | undefined,
  ): number {
    const i = this.tags.length;
    this.log.push(type, actor, a, b, c, step, 0, 0);
    this.tags.push(tag);
    return i;
  }

  private inSeqlock(addr: number, width: number): boolean {
    for (const q of this.seqlocks)
      if (addr < q.data.addr + q.data.len && q.data.addr < addr + width) return true;
    return false;
  }

  private seqlockAt(b: number): SeqlockSpec | undefined {
    for (const q of this.seqlocks) if (b >= q.data.addr && b < q.data.addr + q.data.len) return q;
    return undefined;
  }

  private apply(i: number): Bug | undefined {
    const L = this.log;
    const o = i * S;
    const t = L[o + 1];
    const C = this.clocks[t];
    switch (L[o]) {
      case MEM:
        return this.memory(i, t, C);
      case SEND: {
        this.channels[t * this.n + L[o + 2]].push(C.slice());
        C[t]++;
        return undefined;
      }
      case DELIVER: {
        const m = this.channels[L[o + 2] * this.n + t].shift();
        if (m) join(C, m);
        return undefined;
      }
      case ACQUIRE: {
        const l = L[o + 2];
        join(C, L[o + 3] === 1 ? this.writerClock[l] : this.allClock[l]);
        return undefined;
      }
      case RELEASE: {
        const l = L[o + 2];
        if (L[o + 3] === 0) {
          this.writerClock[l].set(C);
          this.allClock[l].set(C);
        } else join(this.allClock[l], C);
        C[t]++;
        return undefined;
      }
    }
    return undefined;
  }

  private memory(i: number, t: number, C: Int32Array): Bug | undefined {
    const L = this.log;
    const o = i * S;
    const addr = L[o + 2];
    const width = L[o + 3];
    const flags = L[o + 4];
    const kind = flags & KIND_MASK;
    const decl = (flags >> DECL_SHIFT) & 3;
    const atomic = kind === 2 || (decl === 1 && (flags & SPLIT) === 0);
    const racy = decl === 2;
    const write = kind !== 0;
    const uncovered = (flags & UNCOVERED) !== 0;
    const end = addr + width;
    // Acquire first: a read that sees an atomic write is ordered after it.
    if (atomic && (kind === 2 || !write)) {
      for (let b = addr; b < end; b++) {
        const s = this.shadows.get(b)?.sync;
        if (s) join(C, s);
      }
    }
    L[o + 6] = C[t];
    for (let b = addr; b < end; b++) {
      let sh = this.shadows.get(b);
      if (!sh) {
        sh = new Shadow();
        this.shadows.set(b, sh);
      }
      let other = -1;
      let seq = false;
      if (racy) {
        other = this.concurrent(sh.uw, C);
        seq = true;
      } else if (write) {
        other = this.hb(sh.pw, C) ? -1 : sh.pw;
        if (other < 0) other = this.concurrent(sh.pr, C);
        if (!atomic) {
          if (other < 0) other = this.concurrent(sh.aw, C);
          if (other < 0) other = this.concurrent(sh.ar, C);
        }
        if (other < 0 && uncovered) {
          other = this.concurrent(sh.rr, C);
          seq = other >= 0;
        }
      } else {
        other = this.hb(sh.pw, C) ? -1 : sh.pw;
        if (other < 0 && !atomic) other = this.concurrent(sh.aw, C);
      }
      if (other >= 0) return this.report(i, other, seq ? this.seqlockAt(b) : undefined);
      if (racy) sh.rr = this.add(sh.rr, i, t, C);
      else if (!write) {
        if (atomic) sh.ar = this.add(sh.ar, i, t, C);
        else sh.pr = this.add(sh.pr, i, t, C);
      } else if (atomic) sh.aw = this.add(sh.aw, i, t, C);
      else {
        sh.pw = i;
        sh.aw = -1;
        sh.pr = -1;
        sh.ar = -1;
      }
      if (write && uncovered) sh.uw = this.add(sh.uw, i, t, C);
    }
    if (atomic && write) {
      for (let b = addr; b < end; b++) {
        const sh = this.shadows.get(b)!;
        if (sh.sync) join(sh.sync, C);
        else sh.sync = C.slice();
      }
      C[t]++;
    }
    return undefined;
  }

  /** Does event `e` happen before whatever the clock C is at? (-1: nothing to order.) */
  private hb(e: number, C: Int32Array): boolean {
    if (e < 0) return true;
    const o = e * S;
    return this.log[o + 6] <= C[this.log[o + 1]];
  }

  /** The first entry not ordered before C, or -1. */
  private concurrent(x: Entries, C: Int32Array): number {
    if (typeof x === 'number') return this.hb(x, C) ? -1 : x;
    for (let a = 0; a < x.length; a++) if (!this.hb(x[a], C)) return x[a];
    return -1;
  }

  /** Adds event e of actor t to a set, dropping entries ordered before it. */
  private add(x: Entries, e: number, t: number, C: Int32Array): Entries {
    if (typeof x === 'number') {
      if (this.hb(x, C)) return e;
      const v = new Int32Array(this.n).fill(-1);
      v[this.log[x * S + 1]] = x;
      v[t] = e;
      return v;
    }
    for (let a = 0; a < x.length; a++) if (x[a] >= 0 && this.hb(x[a], C)) x[a] = -1;
    x[t] = e;
    return x;
  }

  private describe(e: number, q: SeqlockSpec | undefined): { text: string; key: string; step: number } {
    const L = this.log;
    const o = e * S;
    const flags = L[o + 4];
    const kind = flags & KIND_MASK;
    const decl = (flags >> DECL_SHIFT) & 3;
    const sync =
      kind === 2 ? 'atomic' : decl === 1 && flags & SPLIT ? 'atomic but split, so plain' : SYNCS[decl];
    const tag = this.tags[e];
    const what = `${this.actors[L[o + 1]]} ${VERBS[kind]} ${hex(L[o + 2])}/${L[o + 3]}${tag ? ` '${tag}'` : ''}`;
    const outside = q && kind !== 0 ? `, outside the flag of seqlock '${q.name}'` : '';
    return {
      text: `${what} (${sync}${outside}, step ${L[o + 5]})`,
      key: `${what} ${sync}${outside}`,
      step: L[o + 5],
    };
  }

  private report(cur: number, prev: number, q: SeqlockSpec | undefined): Bug {
    const a = this.describe(cur, q);
    const b = this.describe(prev, q);
    return {
      kind: 'race',
      message: `race: ${a.text} and ${b.text}, not ordered by happens-before`,
      step: a.step,
      actor: this.actors[this.log[cur * S + 1]],
      steps: [b.step, a.step],
      key: [a.key, b.key].sort().join(' & '),
    };
  }
}

function join(into: Int32Array, from: Int32Array): void {
  for (let i = 0; i < into.length; i++) if (from[i] > into[i]) into[i] = from[i];
}
