import type { AccessResult } from '../src/index.ts';
import { type Dir, describeReq, type IoReq, sameRequest } from './ioreq.ts';
import { type CacheEntry, type CachePolicy, MMIO_CACHE_SPACE, type Piece } from './mmio-cache.ts';
import type { Instruction } from './x86-instruction.ts';

/**
 * One emulation pass of an instruction (domain-facts §1.3): x86_emulate re-run on the
 * saved instruction, its operands split at page boundaries by linear_read/linear_write
 * (§1.5), MMIO pieces chunked by hvmemul_phys_mmio_access (§1.4), chunks sent through
 * hvmemul_do_io and its latch (§1.2 step 8).
 *
 * The pass is a pure function. Guest RAM is reached only through operations the vCPU
 * machine performs, so when the pass needs a RAM access it stops and asks for it
 * (`ram`); the machine performs it and runs the pass again from its start with the answer
 * added. Cache and latch change only when a pass reaches one of its other outcomes.
 */
export type Build = 'debug' | 'release';

export type LatchState = 'NONE' | 'READY' | 'IORESP_READY';

/** `v->io.req`: the latched copy of the request in flight, and its response. */
export interface Latch {
  readonly state: LatchState;
  readonly req?: IoReq;
  readonly data?: readonly number[];
}

export interface RamPiece {
  readonly addr: number;
  readonly bytes: number;
  readonly dir: Dir;
  /** For a write: the bytes. */
  readonly data?: readonly number[];
}

export interface RamAnswer extends RamPiece {
  readonly result: AccessResult;
}

/** Model-only record of how a pass treated each piece (for invariant I7). */
export interface PieceLog {
  readonly operand: string;
  readonly addr: number;
  readonly bytes: number;
  readonly path: 'ram' | 'mmio';
}

export type PassOutcome =
  | { readonly kind: 'ram'; readonly piece: RamPiece }
  | {
      readonly kind: 'issue';
      readonly req: IoReq;
      readonly operand: string;
      /** Offset of the chunk within the operand. */
      readonly offset: number;
      /** The chunk's offset in its cache entry, and the entry's size when issued (I5). */
      readonly entryOffset: number;
      readonly cacheSize: number;
    }
  | { readonly kind: 'retire'; readonly values: Readonly<Record<string, readonly number[]>> }
  | { readonly kind: 'assert'; readonly message: string }
  | { readonly kind: 'gp'; readonly reason: string }
  | { readonly kind: 'crash'; readonly reason: string }
  | { readonly kind: 'pagefault'; readonly addr: number };

export interface PassInput {
  readonly insn: Instruction;
  readonly cache: readonly CacheEntry[];
  readonly latch: Latch;
  readonly answers: readonly RamAnswer[];
  readonly build: Build;
  readonly policy: CachePolicy;
}

export interface PassResult {
  readonly outcome: PassOutcome;
  readonly cache: CacheEntry[];
  readonly latch: Latch;
  readonly pieces: readonly PieceLog[];
}

const PAGE = 4096;
const OKAY = { rc: 'okay' } as const;
type Stop = { readonly rc: 'stop'; readonly outcome: PassOutcome };
type Rc = typeof OKAY | Stop;

export function runPass(input: PassInput): PassResult {
  const cache: CacheEntry[] = input.cache.map((e) => ({ ...e, buffer: [...e.buffer], users: [...e.users] }));
  let latch: Latch = input.latch;
  let nextAnswer = 0;
  const pieces: PieceLog[] = [];
  const values: Record<string, number[]> = {};
  const stop = (outcome: PassOutcome): Stop => ({ rc: 'stop', outcome });
  const debugAssert = (message: string): Rc | undefined =>
    input.build === 'debug' ? stop({ kind: 'assert', message }) : undefined;

  /** hvmemul_do_io for one chunk (domain-facts §1.2 steps 1, 8). */
  const doIo = (
    req: IoReq,
    operand: string,
    offset: number,
    entryOffset: number,
    cacheSize: number,
  ): Stop | { readonly rc: 'data'; readonly data: readonly number[] } => {
    // "bad mmio size": hvmemul_do_io takes powers of two up to 8 only.
    if (req.size > 8 || (req.size & (req.size - 1)) !== 0) {
      return stop({ kind: 'gp', reason: `bad mmio size ${req.size}: UNHANDLEABLE` });
    }
    if (latch.state === 'IORESP_READY') {
      const latched = latch.req!;
      const data = latch.data ?? [];
      latch = { state: 'NONE' };
      if (!sameRequest(latched, req)) {
        return stop({
          kind: 'crash',
          reason: `I3: re-issued ${describeReq(req)} (${operand}) differs from the latched ${describeReq(latched)}: domain_crash`,
        });
      }
      return { rc: 'data', data };
    }
    if (latch.state !== 'NONE')
      return stop({ kind: 'gp', reason: `hvmemul_do_io with latched state ${latch.state}: UNHANDLEABLE` });
    return stop({ kind: 'issue', req, operand, offset, entryOffset, cacheSize });
  };

  /** hvmemul_phys_mmio_access (domain-facts §1.4); `base` maps entry offsets to operand bytes. */
  const physMmioAccess = (
    entry: CacheEntry,
    gpa: number,
    size: number,
    dir: Dir,
    buf: number[],
    base: number,
    startOffset: number,
    operand: string,
  ): Rc => {
    let offset = startOffset;
    if ((gpa % PAGE) + size > PAGE || offset + size > MMIO_CACHE_SPACE || offset < entry.skip) {
      return (
        debugAssert(
          `ASSERT_UNREACHABLE in hvmemul_phys_mmio_access: gpa 0x${gpa.toString(16)} size ${size} offset ${offset} skip ${entry.skip}`,
        ) ?? stop({ kind: 'gp', reason: 'hvmemul_phys_mmio_access precondition failed: UNHANDLEABLE' })
      );
    }
    let chunk = 8;
    while (chunk > size) chunk >>= 1;
    for (;;) {
      if (offset < entry.size) {
        // Done on an earlier pass: replay from the cache.
        if (offset + chunk > entry.size) {
          const a = debugAssert(
            `ASSERT(offset + chunk <= cache->size) in hvmemul_phys_mmio_access: ${offset} + ${chunk} > ${entry.size} (entry gla 0x${entry.gla.toString(16)}, ${operand})`,
          );
          if (a) return a;
        }
        if (dir === 'read') {
          for (let i = 0; i < chunk; i++) buf[base + offset + i] = entry.buffer[offset + i] ?? 0;
        } else {
          for (let i = 0; i < chunk; i++) {
            if (buf[base + offset + i] !== entry.buffer[offset + i]) {
              return stop({
                kind: 'crash',
                reason: `replayed write chunk of ${operand} differs from the cache: domain_crash`,
              });
            }
          }
        }
      } else {
        if (offset !== entry.size) {
          const a = debugAssert(`ASSERT(offset == cache->size): ${offset} != ${entry.size} (${operand})`);
          if (a) return a;
        }
        const data = dir === 'write' ? buf.slice(base + offset, base + offset + chunk) : [];
        const r = doIo({ addr: gpa, size: chunk, dir, data }, operand, base + offset, offset, entry.size);
        if (r.rc === 'stop') return r;
        const got = dir === 'read' ? r.data : data;
        for (let i = 0; i < chunk; i++) {
          entry.buffer[offset + i] = got[i] ?? 0;
          if (dir === 'read') buf[base + offset + i] = got[i] ?? 0;
        }
        entry.size += chunk;
      }
      if (!entry.users.includes(operand)) entry.users.push(operand);
      gpa += chunk;
      offset += chunk;
      size -= chunk;
      if (size === 0) return OKAY;
      while (chunk > size) chunk >>= 1;
    }
  };

  /** One piece within a page: RAM first unless the cache says replay, else the MMIO path. */
  const accessPiece = (p: Piece, buf: number[]): Rc => {
    const opOff = p.addr - p.start;
    if (input.policy.tryRamFirst(cache, p)) {
      const data = p.dir === 'write' ? buf.slice(opOff, opOff + p.bytes) : undefined;
      const answer = input.answers[nextAnswer];
      if (!answer) return stop({ kind: 'ram', piece: { addr: p.addr, bytes: p.bytes, dir: p.dir, data } });
      if (answer.addr !== p.addr || answer.bytes !== p.bytes || answer.dir !== p.dir) {
        throw new Error(
          `RAM answer ${nextAnswer} is for 0x${answer.addr.toString(16)}, not 0x${p.addr.toString(16)}`,
        );
      }
      nextAnswer++;
      const r = answer.result;
      if (r.ok) {
        pieces.push({ operand: p.operand, addr: p.addr, bytes: p.bytes, path: 'ram' });
        if (p.dir === 'read') for (let i = 0; i < p.bytes; i++) buf[opOff + i] = r.bytes[i];
        return OKAY;
      }
      if (r.fault !== 'mmio') return stop({ kind: 'pagefault', addr: r.addr });
      // HVMTRANS_bad_gfn_to_mfn: the MMIO path.
    }
    pieces.push({ operand: p.operand, addr: p.addr, bytes: p.bytes, path: 'mmio' });
    const choice = input.policy.entryFor(cache, p);
    if (!choice) {
      return stop({
        kind: 'gp',
        reason: `MMIO cache full: no entry for ${p.dir} of ${p.operand} at 0x${p.addr.toString(16)} (${cache.length} of 3 in use): UNHANDLEABLE`,
      });
    }
    // gla == gpa: the scenarios map linear addresses one to one.
    return physMmioAccess(
      choice.entry,
      p.addr,
      p.bytes,
      p.dir,
      buf,
      opOff - choice.offset,
      choice.offset,
      p.operand,
    );
  };

  /** linear_read / linear_write: split at the page boundary, head first (since 2d527ba310). */
  const linearAccess = (operand: string, start: number, bytes: number, dir: Dir, buf: number[]): Rc => {
    let addr = start;
    let left = bytes;
    while (left > 0) {
      const part = Math.min(left, PAGE - (addr % PAGE));
      const r = accessPiece({ operand, start, addr, bytes: part, dir }, buf);
      if (r.rc === 'stop') return r;
      addr += part;
      left -= part;
    }
    return OKAY;
  };

  for (const a of input.insn.accesses) {
    const buf: number[] =
      a.dir === 'write'
        ? [...(values[a.from ?? ''] ?? new Array(a.size).fill(0))]
        : new Array(a.size).fill(0);
    const r = linearAccess(a.operand, a.addr, a.size, a.dir, buf);
    if (r.rc === 'stop') return { outcome: r.outcome, cache, latch, pieces };
    values[a.operand] = buf;
  }
  return { outcome: { kind: 'retire', values }, cache, latch, pieces };
}
