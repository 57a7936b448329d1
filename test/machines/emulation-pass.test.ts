import { describe, expect, it } from 'vitest';
import { type Latch, type PassResult, type RamAnswer, runPass } from '../../machines/emulation-pass.ts';
import {
  type CacheEntry,
  type CachePolicy,
  fixedPolicy,
  noCachePolicy,
  preFixPolicy,
} from '../../machines/mmio-cache.ts';
import { cmpsq, descriptorLoad, type Instruction, movsq } from '../../machines/x86-instruction.ts';

/** Pages 0x1000-0x4fff and 0x6000 are MMIO, the rest RAM (as in scenarios/mmio-split.ts). */
const isMmio = (a: number) => (a >= 0x1000 && a < 0x5000) || (a >= 0x6000 && a < 0x7000);

/**
 * Drives an instruction through passes as the vCPU machine would, playing RAM and the
 * device model: RAM reads return `0xRR`, device reads return a running counter.
 */
function emulate(
  insn: Instruction,
  policy: CachePolicy,
  build: 'debug' | 'release' = 'debug',
  maxPasses = 20,
) {
  let cache: CacheEntry[] = [];
  let latch: Latch = { state: 'NONE' };
  let answers: RamAnswer[] = [];
  let devByte = 1;
  const issued: { addr: number; size: number; dir: string }[] = [];
  const ramPieces: number[] = [];
  let last: PassResult | undefined;
  for (let pass = 0; pass < maxPasses; pass++) {
    for (;;) {
      last = runPass({ insn, cache, latch, answers, build, policy });
      if (last.outcome.kind !== 'ram') break;
      const p = last.outcome.piece;
      ramPieces.push(p.addr);
      const result = isMmio(p.addr)
        ? ({ ok: false, fault: 'mmio', addr: p.addr } as const)
        : ({ ok: true, bytes: new Array(p.bytes).fill(0xaa) } as const);
      answers = [...answers, { ...p, result }];
    }
    cache = last.cache;
    latch = last.latch;
    answers = [];
    const o = last.outcome;
    if (o.kind !== 'issue') return { outcome: o, issued, cache, ramPieces, pieces: last.pieces };
    issued.push({ addr: o.req.addr, size: o.req.size, dir: o.req.dir });
    const data = o.req.dir === 'read' ? Array.from({ length: o.req.size }, () => devByte++) : [];
    latch = { state: 'IORESP_READY', req: o.req, data };
  }
  throw new Error('too many passes');
}

const load = (addr: number, size: number): Instruction => ({
  mnemonic: `load ${size}`,
  accesses: [{ operand: 'x', addr, size, dir: 'read' }],
});

describe('hvmemul_phys_mmio_access chunking (domain-facts §1.4)', () => {
  const cases: [number, number[]][] = [
    [1, [1]],
    [2, [2]],
    [3, [2, 1]],
    [6, [4, 2]],
    [10, [8, 2]],
    [16, [8, 8]],
    [64, [8, 8, 8, 8, 8, 8, 8, 8]],
  ];
  for (const [size, chunks] of cases) {
    it(`${size} bytes → [${chunks.join(',')}], one device access each, then retire`, () => {
      const r = emulate(load(0x1000, size), fixedPolicy);
      expect(r.outcome.kind).toBe('retire');
      expect(r.issued.map((i) => i.size)).toEqual(chunks);
      expect(r.issued.map((i) => i.addr)).toEqual(
        chunks.map((_, k) => 0x1000 + chunks.slice(0, k).reduce((a, b) => a + b, 0)),
      );
      if (r.outcome.kind === 'retire') {
        expect(r.outcome.values.x).toEqual(Array.from({ length: size }, (_, i) => i + 1));
      }
    });
  }
});

describe('MMIO cache policies (domain-facts §1.5, §1.6)', () => {
  it('pre-fix: CMPSQ src=P-4, dst=P fires ASSERT(offset + chunk <= size) on dst (A)', () => {
    const r = emulate(cmpsq(0x1ffc, 0x2000), preFixPolicy);
    expect(r.outcome.kind).toBe('assert');
    if (r.outcome.kind === 'assert') expect(r.outcome.message).toMatch(/0 \+ 8 > 4.*dst/);
    expect(r.issued).toEqual([
      { addr: 0x1ffc, size: 4, dir: 'read' },
      { addr: 0x2000, size: 4, dir: 'read' },
    ]);
  });
  it('pre-fix release build: dst is never read from the device and shares the src tail entry (A)', () => {
    const r = emulate(cmpsq(0x1ffc, 0x2000), preFixPolicy, 'release');
    expect(r.outcome.kind).toBe('retire');
    expect(r.issued.some((i) => i.addr === 0x2000 && i.size === 8)).toBe(false);
    if (r.outcome.kind === 'retire') expect(r.outcome.values.dst).toEqual([5, 6, 7, 8, 0, 0, 0, 0]);
    expect(r.cache.find((e) => e.gla === 0x2000)?.users).toEqual(['src', 'dst']);
  });
  it('fixed: CMPSQ uses one entry per operand and reads dst from the device', () => {
    const r = emulate(cmpsq(0x1ffc, 0x2000), fixedPolicy);
    expect(r.outcome.kind).toBe('retire');
    expect(r.issued.map((i) => [i.addr, i.size])).toEqual([
      [0x1ffc, 4],
      [0x2000, 4],
      [0x2000, 8],
    ]);
    expect(r.cache.map((e) => [e.gla, e.skip, e.size])).toEqual([
      [0x1ffc, 0, 8],
      [0x2000, 0, 8],
    ]);
  });
  it('pre-fix: MOVSQ with both operands straddling MMIO pages needs a 4th entry: #GP (B)', () => {
    const r = emulate(movsq(0x2ffc, 0x3ffc), preFixPolicy);
    expect(r.outcome.kind).toBe('gp');
    if (r.outcome.kind === 'gp') expect(r.outcome.reason).toMatch(/MMIO cache full/);
    expect(r.cache).toHaveLength(3);
  });
  it('fixed: MOVSQ needs 2 entries and writes src to dst (B)', () => {
    const r = emulate(movsq(0x2ffc, 0x3ffc), fixedPolicy);
    expect(r.outcome.kind).toBe('retire');
    expect(r.cache).toHaveLength(2);
    expect(r.issued.filter((i) => i.dir === 'write').map((i) => [i.addr, i.size])).toEqual([
      [0x3ffc, 4],
      [0x4000, 4],
    ]);
  });
  it('fixed: RAM→MMIO keeps reading the RAM head on every pass, skip=4 (C)', () => {
    const r = emulate(load(0x5ffc, 8), fixedPolicy);
    expect(r.outcome.kind).toBe('retire');
    expect(r.issued).toEqual([{ addr: 0x6000, size: 4, dir: 'read' }]);
    expect(r.cache.map((e) => [e.gla, e.skip, e.size])).toEqual([[0x5ffc, 4, 8]]);
    expect(r.pieces.filter((p) => p.addr === 0x5ffc).map((p) => p.path)).toEqual(['ram']);
    if (r.outcome.kind === 'retire') expect(r.outcome.values.x).toEqual([0xaa, 0xaa, 0xaa, 0xaa, 1, 2, 3, 4]);
  });
  it('fixed: MMIO→RAM reads the RAM tail from RAM (C)', () => {
    const r = emulate(load(0x6ffc, 8), fixedPolicy);
    expect(r.outcome.kind).toBe('retire');
    expect(r.issued).toEqual([{ addr: 0x6ffc, size: 4, dir: 'read' }]);
    expect(r.cache.map((e) => [e.gla, e.skip, e.size])).toEqual([[0x6ffc, 0, 4]]);
    if (r.outcome.kind === 'retire') expect(r.outcome.values.x).toEqual([1, 2, 3, 4, 0xaa, 0xaa, 0xaa, 0xaa]);
  });
  it('fixed: a selector and a descriptor read at one address still fire the assertion', () => {
    const r = emulate(descriptorLoad(0x1000), fixedPolicy);
    expect(r.outcome.kind).toBe('assert');
    if (r.outcome.kind === 'assert') expect(r.outcome.message).toMatch(/0 \+ 8 > 2.*descriptor/);
  });
  it('no cache: the third pass re-issues src and meets the latch of another request: domain_crash', () => {
    const r = emulate(cmpsq(0x1ffc, 0x2000), noCachePolicy);
    expect(r.outcome.kind).toBe('crash');
    if (r.outcome.kind === 'crash')
      expect(r.outcome.reason).toMatch(/re-issued read 0x1ffc\/4 .* latched read 0x2000\/4/);
  });
});
