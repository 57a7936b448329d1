import { describe, expect, it } from 'vitest';
import { decodeGpc, encodeGpc, gpcCheck } from '../../machines/gpc.ts';
import {
  areaSize,
  decodeRunstate,
  encodeRunstate,
  flagOfs,
  splitLengths,
  timesAddUp,
  timesOfs,
} from '../../machines/runstate-layout.ts';
import runstate from '../../scenarios/runstate.ts';
import { check, defineScenario } from '../../src/index.ts';

const dpor = { strategy: 'dpor', workers: 1, traceDir: null } as const;

async function verdict(variant: string, params: Record<string, string | number | boolean> = {}) {
  const r = await check(runstate, { ...dpor, variants: [variant], params });
  expect(r.results).toHaveLength(1);
  const v = r.results[0];
  expect(v.error).toBeUndefined();
  return v;
}

describe('runstate layouts (domain-facts §2.1)', () => {
  it('sizes, times_ofs and the flag byte match the BUILD_BUG_ONs', () => {
    expect([areaSize('64'), areaSize('compat')]).toEqual([48, 44]);
    expect([timesOfs('64'), timesOfs('compat')]).toEqual([8, 4]);
    expect([flagOfs('64'), flagOfs('compat')]).toEqual([15, 11]);
  });
  it('encodes little-endian with XEN_RUNSTATE_UPDATE as bit 7 of the last byte', () => {
    const rs = { state: 1, entryTime: 0x1_0000_0010, times: [1, 2, 3, 4] as const };
    for (const layout of ['64', 'compat'] as const) {
      const b = encodeRunstate(layout, rs, true);
      expect(b).toHaveLength(areaSize(layout));
      expect(b[flagOfs(layout)]).toBe(0x80);
      expect(b[timesOfs(layout)]).toBe(0x10);
      const d = decodeRunstate(layout, b);
      expect(d.flag).toBe(true);
      expect({ state: d.state, entryTime: d.entryTime, times: d.times }).toEqual(rs);
      expect(timesAddUp(d)).toBe(false);
    }
  });
  it('splits like §2.3 step 1: the selftest address gives len1 = 15 and len2 = 33', () => {
    expect(splitLengths(0xc0000000 + 2 * 4096 - 15, 48)).toEqual({ len1: 15, len2: 33 });
    expect(splitLengths(0x1000, 48)).toEqual({ len1: 48, len2: 0 });
    expect(splitLengths(0x2000 - 44, 44)).toEqual({ len1: 44, len2: 0 });
  });
  it('a GPC check fails when inactive, invalid or crossing the page', () => {
    const w = decodeGpc(encodeGpc({ active: true, valid: true, gpa: 0x11ff1 }));
    expect(w).toEqual({ active: true, valid: true, gpa: 0x11ff1 });
    expect(gpcCheck(w, 15)).toBe(true);
    expect(gpcCheck(w, 48)).toBe(false);
    expect(gpcCheck({ ...w, valid: false }, 15)).toBe(false);
    expect(gpcCheck({ ...w, active: false }, 15)).toBe(false);
  });
});

describe('runstate: every variant gets its verdict by exhaustive search', () => {
  for (const [variant, spec] of Object.entries(runstate.variants)) {
    it(`${variant}: ${spec.expect}`, async () => {
      const v = await verdict(variant);
      expect(v.verdict).toBe(spec.expect);
      if (spec.expect === 'pass') expect(v.exhaustive).toBe(true);
    });
  }
});

describe('runstate: what each bug shows', () => {
  it('whole-field-flag: the low half of the 64-bit store lands with the flag clear', async () => {
    const v = await verdict('whole-field-flag', {});
    expect(v.kind).toBe('invariant');
    expect(v.invariant).toBe('times-add-up');
    expect(v.message).toMatch(/times don't add up/);
  });
  it('whole-field-flag: the guest accepts a torn snapshot (R5 alone)', async () => {
    const onlyR5 = defineScenario({ ...runstate, invariants: { R5: runstate.invariants!.R5 } });
    const r = await check(onlyR5, {
      ...dpor,
      variants: ['whole-field-flag'],
      checkers: { race: false },
    });
    const v = r.results[0];
    expect(v.verdict).toBe('bug');
    expect(JSON.stringify(v)).toMatch(/accepted a torn snapshot/);
  });
  it('the fixed protocol with the flag switched off lets the guest take a torn snapshot', async () => {
    const onlyR5 = defineScenario({ ...runstate, invariants: { R5: runstate.invariants!.R5 } });
    const r = await check(onlyR5, { ...dpor, variants: ['fixed'], params: { flag: false } });
    expect(r.results[0].verdict).toBe('bug');
    expect(JSON.stringify(r.results[0])).toMatch(/accepted a torn snapshot/);
  });
  it('single-gpc: the area crossing a page is never updated (-EINVAL from refresh)', async () => {
    const v = await verdict('single-gpc');
    expect(JSON.stringify(v)).toMatch(/stale.*-EINVAL/);
  });
  it('inverted-lock-order: gpc1 → gpc2 against gpc2 → gpc1 deadlocks', async () => {
    const v = await verdict('inverted-lock-order');
    expect(v.kind).toBe('lock-order');
    expect(v.message).toMatch(/vcpu took gpc1 .* then gpc2 .*; mmu took gpc2 .* then gpc1/);
  });
  it('check-outside-lock: the write goes through an invalidated cache', async () => {
    const v = await verdict('check-outside-lock');
    expect(v.kind).toBe('race');
    expect(v.message).toMatch(/gpc1\.valid=0/);
    // Without the race detector the write through the invalidated cache shows.
    const r = await check(runstate, { ...dpor, variants: ['check-outside-lock'], checkers: { race: false } });
    expect(r.results[0].invariant).toBe('use-after-invalidate');
  });
});

describe('runstate: the fixed protocol under more configurations', () => {
  it('both updates with the guest reading, area within one page, both layouts', async () => {
    for (const layout of ['64', 'compat']) {
      const v = await verdict('fixed', { layout, offset: 4096 + 64, updates: 2 });
      expect(v.verdict).toBe('pass');
      expect(v.exhaustive).toBe(true);
    }
  });
  it('the pathological offsets with the MMU notifier invalidating both caches', async () => {
    for (const [layout, offset] of [
      ['64', 8177],
      ['compat', 8181],
    ] as const) {
      const v = await verdict('fixed', { layout, offset, updates: 2, reader: false, invalidate: 'both' });
      expect(v.verdict).toBe('pass');
      expect(v.exhaustive).toBe(true);
    }
  });
  // xen_shinfo_test's sweep: every address in [GPA+8192-56-4, GPA+8192+4), both layouts.
  it('sweep: fixed passes at every offset; single-gpc fails exactly where 48 bytes cross the page', async () => {
    for (const layout of ['64', 'compat'] as const) {
      for (let offset = 8192 - 56 - 4; offset < 8192 + 4; offset++) {
        const params = { layout, offset, updates: 2, reader: false };
        expect((await verdict('fixed', params)).verdict).toBe('pass');
        const crosses = (offset % 4096) + 48 > 4096;
        expect((await verdict('single-gpc', params)).verdict).toBe(crosses ? 'bug' : 'pass');
      }
    }
  }, 120_000);
});

// Issue 4 part 4: the reader's reads are `racy` (a seqlock read side validated by the second
// read of state_entry_time); the writer's flag bytes are `atomic`; its data stores are
// plain and must fall inside the flag window (the scenario declares the seqlock).
describe('runstate: the race detector on the flag protocol', () => {
  const noInvariants = defineScenario({ ...runstate, invariants: {} });
  it('flags the whole-field store: its low half lands while the flag is clear', async () => {
    const r = await check(noInvariants, { ...dpor, variants: ['whole-field-flag'] });
    const v = r.results[0];
    expect(v.verdict).toBe('bug');
    expect(v.kind).toBe('race');
    expect(v.message).toMatch(/vcpu.*guest|guest.*vcpu/);
  });
  it('does not flag the fixed protocol at either layout (exhaustive, invariants off)', async () => {
    for (const variant of ['fixed', 'fixed-compat', 'fixed-invalidation']) {
      const r = await check(noInvariants, { ...dpor, variants: [variant] });
      expect(r.results[0].verdict).toBe('pass');
      expect(r.results[0].exhaustive).toBe(true);
    }
  });
  it('flags the unlocked validity check of check-outside-lock', async () => {
    const r = await check(noInvariants, { ...dpor, variants: ['check-outside-lock'] });
    expect(r.results[0].kind).toBe('race');
    expect(r.results[0].message).toMatch(/0x20001|0x20000/);
  });
  it('inverted-lock-order: with lock-order off, the deadlock it allows names the cycle', async () => {
    const r = await check(runstate, {
      ...dpor,
      variants: ['inverted-lock-order'],
      checkers: { 'lock-order': false },
    });
    expect(r.results[0].kind).toBe('deadlock');
    expect(r.results[0].message).toMatch(/gpc1.*gpc2|gpc2.*gpc1/);
  });
});
