import { describe, expect, it } from 'vitest';
import type { BootInput } from '../../machines/subpage-ro-boot.ts';
import {
  type GuestStore,
  handlerAccepts,
  hookAccepts,
  isAllowedStore,
} from '../../machines/subpage-ro-fault-path.ts';
import {
  bitmapBytes,
  EINVAL,
  ENTRY_MAPPED,
  isRoQword,
  RO_ELEMS_BITS,
  roBitInWord,
  roWordOffset,
  subpageMmioRoAdd,
  subpageRanges,
} from '../../machines/subpage-ro-registration.ts';
import { subpageRoVcpuSetup, type VcpuContext } from '../../machines/subpage-ro-vcpu.ts';
import subpage from '../../scenarios/subpage-mmio-ro.ts';
import {
  check,
  defineScenario,
  leToNumber,
  release,
  resultBytes,
  toLe,
  type VariantSpec,
  write,
} from '../../src/index.ts';

const dpor = { strategy: 'dpor', workers: 1, traceDir: null } as const;
type Params = Record<string, string | number | boolean>;
const P = 0xfe010000;

/** The scenario with extra variants (mutants of the machines) and, optionally, other invariants. */
function withVariants(
  variants: Record<string, VariantSpec<Params>>,
  invariants: typeof subpage.invariants = subpage.invariants,
) {
  return defineScenario({ ...subpage, invariants, defaultVariant: undefined, variants });
}

async function verdict(scenario: Parameters<typeof check>[0], variant: string, params: Params = {}) {
  const r = await check(scenario, { ...dpor, variants: [variant], params });
  expect(r.results).toHaveLength(1);
  const v = r.results[0];
  expect(v.error).toBeUndefined();
  return v;
}

/** The entry of the page a vCPU is storing to. */
const entryOf = (c: VcpuContext) => c.entries.find((e) => e.mfn === c.mfns[c.stores[c.k].page])!.addr;

const store = (offset: number, len: number, cr2Offset?: number): GuestStore => ({
  page: 0,
  offset,
  len,
  data: new Array(len).fill(0x55),
  ...(cr2Offset !== undefined ? { cr2Offset } : {}),
});

describe('subpage_mmio_ro_add (domain-facts §3.1-3.2)', () => {
  it('has 8-byte granularity: 64 bytes at +0x40 make qwords 8-15 read-only, one bitmap byte', () => {
    const r = subpageMmioRoAdd([], P + 0x40, 0x40);
    expect(r.rc).toBe(0);
    if (r.rc !== 0) return;
    expect(r.entries).toEqual([{ mfn: 0xfe010, roQwords: [8, 9, 10, 11, 12, 13, 14, 15] }]);
    expect(r.roPages).toEqual({ first: 0xfe010, last: 0xfe010 });
    expect(RO_ELEMS_BITS).toBe(512);
    const bytes = bitmapBytes(r.entries[0].roQwords);
    expect(bytes).toHaveLength(64);
    expect(bytes.findIndex((b) => b !== 0)).toBe(1);
    expect(bytes[1]).toBe(0xff);
    expect(isRoQword(r.entries, 0xfe010, 0x47)).toBe(true);
    expect(isRoQword(r.entries, 0xfe010, 0x80)).toBe(false);
    expect(isRoQword(r.entries, 0xfe010, 0x3f)).toBe(false);
  });
  it('reads test_bit from the unsigned long holding the bit', () => {
    const bytes = bitmapBytes([8, 511]);
    expect(roWordOffset(0x40)).toBe(0);
    expect(roWordOffset(0xff8)).toBe(56);
    expect(roBitInWord(bytes.slice(0, 8), 0x44)).toBe(true);
    expect(roBitInWord(bytes.slice(0, 8), 0x48)).toBe(false);
    expect(roBitInWord(bytes.slice(56, 64), 0xff8)).toBe(true);
  });
  it('§3.2 step 2: which pages need sub-page handling', () => {
    const page = (n: number) => (0xfe010 + n) * 4096;
    // Single page: unaligned start, or an end short of the page's last byte.
    expect(subpageRanges(page(0) + 0x40, 0x40)).toEqual([{ mfn: 0xfe010, offsetS: 0x40, offsetE: 0x7f }]);
    expect(subpageRanges(page(0), 0x80)).toEqual([{ mfn: 0xfe010, offsetS: 0, offsetE: 0x7f }]);
    expect(subpageRanges(page(0) + 0xf00, 0x100)).toEqual([{ mfn: 0xfe010, offsetS: 0xf00, offsetE: 0xfff }]);
    // Whole pages need none: mmio_ro_ranges covers them.
    expect(subpageRanges(page(0), 4096)).toEqual([]);
    expect(subpageRanges(page(0), 2 * 4096)).toEqual([]);
    // Two pages: the start page if start is unaligned (to its end), the end page if end is short.
    expect(subpageRanges(page(0) + 0xf80, 0x100)).toEqual([
      { mfn: 0xfe010, offsetS: 0xf80, offsetE: 0xfff },
      { mfn: 0xfe011, offsetS: 0, offsetE: 0x7f },
    ]);
    expect(subpageRanges(page(0), 4096 + 0x80)).toEqual([{ mfn: 0xfe011, offsetS: 0, offsetE: 0x7f }]);
    expect(subpageRanges(page(0) + 0x80, 2 * 4096 - 0x80)).toEqual([
      { mfn: 0xfe010, offsetS: 0x80, offsetE: 0xfff },
    ]);
    // Three pages: the middle one is whole.
    expect(subpageRanges(page(0) + 0xff8, 4096 + 0x10).map((r) => r.mfn)).toEqual([0xfe010, 0xfe012]);
    const r = subpageMmioRoAdd([], page(0) + 0xf80, 0x100);
    expect(r.rc === 0 && r.roPages).toEqual({ first: 0xfe010, last: 0xfe011 });
  });
  it('-EINVAL for a start or size that is not 8-byte aligned (ASSERT in debug builds); size 0 is a no-op', () => {
    const a = subpageMmioRoAdd([], P + 0x44, 0x40);
    expect(a.rc).toBe(EINVAL);
    expect(a.assertion).toMatch(/IS_ALIGNED\(start/);
    const b = subpageMmioRoAdd([], P + 0x40, 0x3c);
    expect(b.rc).toBe(EINVAL);
    expect(b.assertion).toMatch(/IS_ALIGNED\(size/);
    const z = subpageMmioRoAdd([], P + 0x40, 0);
    expect(z).toEqual({ rc: 0, entries: [], subpages: [] });
  });
  it('a second registration on the same page adds bits; an overlapping one fires ASSERT(!oldbit)', () => {
    const first = subpageMmioRoAdd([], P + 0x40, 0x40);
    if (first.rc !== 0) throw new Error('first registration failed');
    const apart = subpageMmioRoAdd(first.entries, P + 0xf80, 0x100);
    expect(apart.assertion).toBeUndefined();
    expect(apart.rc === 0 && apart.entries.map((e) => [e.mfn, e.roQwords.length])).toEqual([
      [0xfe010, 8 + 16],
      [0xfe011, 16],
    ]);
    const overlap = subpageMmioRoAdd(first.entries, P + 0x78, 0x10);
    expect(overlap.rc).toBe(0);
    expect(overlap.assertion).toMatch(/ASSERT\(!oldbit\).*qword 15 of mfn 0xfe010/);
  });
});

describe('the write-fault checks (domain-facts §3.3, §3.5)', () => {
  it("the hook takes naturally aligned power-of-two stores at cr2, 16 bytes included (8dbd9966f8's hole)", () => {
    expect([1, 2, 4, 8, 16].map((len) => hookAccepts(store(0x10, len)))).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
    expect(hookAccepts(store(0x0e, 4))).toBe(false);
    expect(hookAccepts(store(0x10, 3))).toBe(false);
    expect(hookAccepts(store(0x18, 8, 0x1c))).toBe(false);
  });
  it('the 2025 HVM handler takes only 1, 2, 4 or 8 bytes, aligned', () => {
    expect(handlerAccepts(store(0x10, 8))).toBe(true);
    expect(handlerAccepts(store(0x10, 16))).toBe(false);
    expect(handlerAccepts(store(0x0e, 4))).toBe(false);
  });
  it('an allowed store: width 1-8, aligned, at cr2, into a writable qword (its first byte decides)', () => {
    expect(isAllowedStore(store(0x08, 8), false)).toBe(true);
    expect(isAllowedStore(store(0x08, 8), true)).toBe(false);
    expect(isAllowedStore(store(0x10, 16), false)).toBe(false);
    expect(isAllowedStore(store(0x18, 8, 0x1c), false)).toBe(false);
  });
});

describe('subpage-mmio-ro: every variant gets its verdict by exhaustive search', () => {
  for (const [variant, spec] of Object.entries(subpage.variants)) {
    it(`${variant}: ${spec.expect}`, async () => {
      const v = await verdict(subpage, variant);
      expect(v.verdict).toBe(spec.expect);
      if (spec.expect === 'pass') {
        expect(v.exhaustive).toBe(true);
        expect(v.schedules).toBeLessThan(5000);
      }
    });
  }
});

describe('subpage-mmio-ro: what each bug shows', () => {
  it('whole-page-ro: the allowed write crashes the HVM domU', async () => {
    const v = await verdict(subpage, 'whole-page-ro');
    expect(v.kind).toBe('invariant');
    expect(v.invariant).toBe('allowed-store-performed');
    expect(v.message).toMatch(/vcpu\d's \d-byte store to 0xfe0100[08]\d.*ended in domain_crash/);
  });
  it('unserialised-map: entry.mapped is published twice', async () => {
    const v = await verdict(subpage, 'unserialised-map');
    expect(v.kind).toBe('invariant');
    expect(v.invariant).toBe('S4-mapped-once');
    expect(v.message).toMatch(
      /entry\.mapped of entry [01] set a second time by vcpu\d: 0x82c00040[0-3]000 → 0x82c00040[0-3]000/,
    );
  });
  it('unserialised-map: without that check, the losing mapping leaks', async () => {
    const { 'S4-mapped-once': _, ...rest } = subpage.invariants!;
    const s = withVariants({ 'unserialised-map': subpage.variants['unserialised-map'] }, rest);
    const v = await verdict(s, 'unserialised-map');
    expect(v.invariant).toBe('S4-losers-unmapped');
    expect(v.message).toMatch(
      /vcpu\d's mapping 0x82c00040[0-3]000 of mfn 0xfe01[01] leaked: entry\.mapped is 0x82c00040[0-3]000/,
    );
  });
  it('hvm-8847d6e23f-amd: with no linear address the hook rejects the allowed write and the domU crashes', async () => {
    const v = await verdict(subpage, 'hvm-8847d6e23f-amd');
    expect(v.invariant).toBe('allowed-store-performed');
    expect(v.message).toMatch(
      /ended in domain_crash \(hvm_emulate_one_mmio: bad access \(no gla\); domain_crash\(\)\)/,
    );
    // 8f36bde2b2's handler needs no linear address.
    const fixed = await verdict(subpage, 'final-map-then-recheck', { cpu: 'amd' });
    expect(fixed.verdict).toBe('pass');
    expect(fixed.exhaustive).toBe(true);
  });
  it('page-base-store: the allowed store lands at offset 0 of the page', async () => {
    const v = await verdict(subpage, 'page-base-store');
    expect(v.kind).toBe('invariant');
    expect(v.invariant).toBe('S2-store-at-mfn-offset');
    expect(v.message).toMatch(/reached the device at 0xfe010000, not mfn<<12\|offset = 0xfe0100(08|84)/);
  });
  it('wide-store: the 16-byte store hits ASSERT_UNREACHABLE in the size switch (debug build)', async () => {
    const v = await verdict(subpage, 'wide-store');
    expect(v.kind).toBe('assertion');
    expect(v.actor).toBe('vcpu0');
    expect(v.message).toMatch(
      /ASSERT_UNREACHABLE\(\) in subpage_mmio_write_emulate: 16-byte write to 0xfe010010/,
    );
    // A release build falls through to `goto write_ignored`: dropped, nothing reaches the device.
    expect((await verdict(subpage, 'wide-store', { build: 'release' })).verdict).toBe('pass');
  });
});

describe('subpage-mmio-ro: the write-fault paths', () => {
  /** A probe: an invariant that breaks when the named vCPU records `outcome`, to show it is reached. */
  const reaches = (vcpu: string, outcome: string, log?: RegExp) =>
    withVariants(
      Object.fromEntries(
        Object.entries(subpage.variants).map(([k, v]) => [k, { ...v, expect: 'pass' as const }]),
      ),
      {
        // A function of one vCPU's context: `local`, so DPOR explores no more than without it.
        probe: {
          kind: 'local',
          check: (view) => {
            const r = view
              .context<VcpuContext>(vcpu)
              .records.find((x) => x.outcome === outcome && (!log || log.test(x.log ?? '')));
            return r ? `reached ${outcome}: ${r.log ?? ''}` : undefined;
          },
        },
      },
    );
  it('8847d6e23f: a domU write into the read-only part crashes it; the hardware domain drops and logs it', async () => {
    expect((await verdict(subpage, 'hvm-8847d6e23f', { guest: 'pvh-dom0' })).verdict).toBe('pass');
    const crash = await verdict(reaches('vcpu0', 'domain_crash'), 'hvm-8847d6e23f');
    expect(crash.message).toMatch(/reached domain_crash/);
    const drop = await verdict(reaches('vcpu0', 'dropped'), 'hvm-8847d6e23f', { guest: 'pvh-dom0' });
    expect(drop.message).toMatch(/ignoring write to R\/O MMIO 0xfe010044 len 4/);
  });
  it('XEN@HEAD HVM: the read-only write is dropped and logged, the domU continues', async () => {
    const v = await verdict(reaches('vcpu0', 'dropped'), 'final-map-then-recheck');
    expect(v.message).toMatch(/ignoring write to R\/O MMIO 0xfe010044 len 4/);
  });
  it('PV: a misaligned store and one not at cr2 are bad accesses; the 16-byte store is unsupported', async () => {
    const misaligned = await verdict(reaches('vcpu0', 'bad access', /bytes=4/), 'pv');
    expect(misaligned.message).toMatch(/bad access \(cr2=c000000e, addr=c000000e, bytes=4\)/);
    const notAtCr2 = await verdict(reaches('vcpu0', 'bad access', /bytes=8/), 'pv');
    expect(notAtCr2.message).toMatch(/bad access \(cr2=c000001c, addr=c0000018, bytes=8\)/);
    const wide = await verdict(reaches('vcpu0', 'unsupported'), 'wide-store-fixed');
    expect(wide.message).toMatch(/unsupported 16-byte write to R\/O MMIO 0xfe010010/);
  });
  it('the losing CPU of the race iounmaps its own mapping and stores through the winner', async () => {
    // Reached only when both CPUs ioremapped before either published.
    const s = withVariants(
      { race: { description: 'final', expect: 'pass' } },
      {
        probe: {
          kind: 'local',
          check: (view) => {
            const s = view.lastStep;
            return s?.what.includes('(iounmap)') ? `${s.actor} iounmapped its mapping` : undefined;
          },
        },
      },
    );
    expect((await verdict(s, 'race')).message).toMatch(/vcpu\d iounmapped its mapping/);
  });
});

describe('subpage-mmio-ro: the lazy mapping (domain-facts §3.4)', () => {
  it('a failed ioremap publishes NULL and the write is dropped with "Failed to map page"', async () => {
    const probe = withVariants(
      { final: { description: 'final', expect: 'pass' } },
      {
        probe: {
          kind: 'local',
          check: (view) => {
            const r = view.context<VcpuContext>('vcpu0').records.find((x) => x.outcome === 'map failed');
            return r ? `reached: ${r.log}` : undefined;
          },
        },
      },
    );
    expect((await verdict(probe, 'final')).message).toMatch(
      /Failed to map page for MMIO write at 0xfe010008/,
    );
    // The choice is explored: more classes than with an ioremap that never fails, all passing.
    for (const variant of ['final-map-then-recheck', 'v2-map-under-lock']) {
      const mayFail = await verdict(subpage, variant);
      const ok = await verdict(subpage, variant, { ioremap: 'ok' });
      expect([mayFail.verdict, ok.verdict]).toEqual(['pass', 'pass']);
      expect(ok.exhaustive && mayFail.exhaustive).toBe(true);
      expect(mayFail.classes).toBeGreaterThan(ok.classes!);
    }
  });
  it('the race detector finds no race in the fixed protocols (atomic unlocked read, atomic publish under the lock)', async () => {
    const noInvariants = withVariants(
      {
        final: { description: 'final', expect: 'pass' },
        v2: { description: 'v2', expect: 'pass', provide: subpage.variants['v2-map-under-lock'].provide },
      },
      {},
    );
    for (const variant of ['final', 'v2']) {
      const v = await verdict(noInvariants, variant);
      expect(v.verdict).toBe('pass');
      expect(v.exhaustive).toBe(true);
    }
  });
  it('a plain (unmarked) publish races with the unlocked read of entry.mapped', async () => {
    const plain = subpageRoVcpuSetup.enqueueActions(({ context, enqueue }) => {
      enqueue.assign({ mapped: context.ours });
      enqueue(write(entryOf(context) + ENTRY_MAPPED, toLe(context.ours, 8), 'entry.mapped'));
      enqueue(release('subpage_ro_lock'));
    });
    const s = withVariants({
      plain: {
        description: 'plain',
        expect: 'pass',
        provide: { 'subpage-ro-vcpu': { actions: { publish: plain } } },
      },
    });
    const v = await verdict(s, 'plain');
    expect(v.kind).toBe('race');
    expect(v.message).toMatch(/0x100(00|08)8\/8/);
  });
});

describe('subpage-mmio-ro: each invariant catches the rule it guards', () => {
  const mutant = (provide: VariantSpec<Params>['provide'], params?: Params) =>
    withVariants({
      mutant: { description: 'mutant', expect: 'pass', provide, ...(params ? { params } : {}) },
    });
  it('S1: skipping the read-only check stores into the DbC registers', async () => {
    const v = await verdict(mutant({ 'subpage-ro-vcpu': { guards: { roQword: () => false } } }), 'mutant');
    expect(v.invariant).toBe('S1-ro-store-dropped');
    expect(v.message).toMatch(/vcpu0 stored 4 bytes at 0xfe010044: qword 8 of mfn 0xfe010 is read-only/);
  });
  it('S1: an RO write by the hardware domain must not crash it', async () => {
    // 8847d6e23f's domU rule applied to the hardware domain too.
    const crashAll = subpageRoVcpuSetup.assign(({ context }) => ({
      phase: 'emulating' as const,
      route: roBitInWord(context.roWord, context.stores[context.k].offset)
        ? ('crash' as const)
        : ('handler' as const),
    }));
    const v = await verdict(
      mutant({ 'subpage-ro-vcpu': { actions: { route: crashAll } } }, { guest: 'pvh-dom0' }),
      'mutant',
    );
    expect(v.invariant).toBe('S1-ro-store-dropped');
    expect(v.message).toMatch(/crashed a pvh-dom0 domain instead of being dropped and logged/);
  });
  it('S1: the 2025 MMIO handler must not crash a domU for a read-only write', async () => {
    const crashInHandler = subpageRoVcpuSetup.assign(({ context }) => ({
      k: context.k + 1,
      records: [
        ...context.records,
        {
          store: context.stores[context.k],
          mfn: context.mfns[context.stores[context.k].page],
          roQword: true,
          route: context.route,
          outcome: 'domain_crash' as const,
        },
      ],
    }));
    const v = await verdict(
      mutant({ 'subpage-ro-vcpu': { actions: { noteDropped: crashInHandler } } }),
      'mutant',
    );
    expect(v.invariant).toBe('S1-ro-store-dropped');
    expect(v.message).toMatch(
      /vcpu0's 4-byte store to 0xfe010044 crashed a hvm-domU domain in the MMIO handler/,
    );
  });
  it('S3: a hook that lets a misaligned store through splits it at the device', async () => {
    const v = await verdict(
      mutant(
        { 'subpage-ro-vcpu': { guards: { hookRejects: () => false } } },
        { guest: 'pv', program: 'mixed' },
      ),
      'mutant',
    );
    expect(v.invariant).toBe('S3-one-access-of-width-len');
    expect(v.message).toMatch(/4-byte store to 0xfe01000e reached the device as a 2-byte access/);
  });
  it('S4: a pointer published in two halves is torn', async () => {
    const halves = subpageRoVcpuSetup.enqueueActions(({ context, enqueue }) => {
      const e = entryOf(context) + ENTRY_MAPPED;
      const b = toLe(context.ours, 8);
      enqueue.assign({ mapped: context.ours });
      enqueue(write(e, b.slice(0, 4), 'mapped.lo', 'atomic'));
      enqueue(write(e + 4, b.slice(4), 'mapped.hi', 'atomic'));
      enqueue(release('subpage_ro_lock'));
    });
    const v = await verdict(mutant({ 'subpage-ro-vcpu': { actions: { publish: halves } } }), 'mutant');
    expect(v.invariant).toBe('S4-mapped-once');
    expect(v.message).toMatch(/torn or foreign entry\.mapped/);
  });
  it('S4: a loser that does not iounmap leaks its mapping', async () => {
    const keep = subpageRoVcpuSetup.enqueueActions(({ enqueue, event }) => {
      enqueue.assign({ mapped: leToNumber(resultBytes(event, 'mapped')), ours: 0 });
      enqueue(release('subpage_ro_lock'));
    });
    const v = await verdict(mutant({ 'subpage-ro-vcpu': { actions: { unlockAndDiscard: keep } } }), 'mutant');
    expect(v.invariant).toBe('S4-losers-unmapped');
    expect(v.message).toMatch(
      /vcpu\d's mapping 0x82c00040[0-3]000 of mfn 0xfe01[01] leaked: entry\.mapped is 0x82c00040[0-3]000/,
    );
  });
  it('S5: overlapping registrations (release build: no ASSERT) and a registration after the domain exists', async () => {
    const overlap = await verdict(subpage, 'final-map-then-recheck', { ranges: 'overlap', build: 'release' });
    expect(overlap.invariant).toBe('S5-disjoint-boot-registrations');
    expect(overlap.message).toMatch(/both make qword 15 of mfn 0xfe010 read-only/);
    // A debug build stops at the ASSERT, before the second registration's store.
    const debug = await verdict(subpage, 'final-map-then-recheck', { ranges: 'overlap' });
    expect(debug.kind).toBe('assertion');
    expect(debug.message).toMatch(/ASSERT\(!oldbit\)/);
    // A misaligned size: ASSERT in debug builds, -EINVAL (and nothing registered) in release.
    const mis = await verdict(subpage, 'final-map-then-recheck', { ranges: 'misaligned' });
    expect(mis.message).toMatch(/ASSERT\(IS_ALIGNED\(size/);
    expect(
      (await verdict(subpage, 'final-map-then-recheck', { ranges: 'misaligned', build: 'release' })).verdict,
    ).toBe('pass');
    // A late registration: refused with -EILSEQ, unless the check is gone.
    const late = (refuses: boolean) =>
      defineScenario({
        ...subpage,
        actors: (p) => {
          const a = subpage.actors(p);
          const boot = a.boot.input as BootInput;
          return { ...a, boot: { ...a.boot, input: { ...boot, late: [{ start: P + 0x800, size: 8 }] } } };
        },
        defaultVariant: undefined,
        variants: {
          late: {
            description: 'late',
            expect: 'pass',
            ...(refuses
              ? {}
              : { provide: { 'subpage-ro-boot': { guards: { refusesAfterBoot: () => false } } } }),
          },
        },
      });
    expect((await verdict(late(true), 'late')).verdict).toBe('pass');
    const v = await verdict(late(false), 'late');
    expect(v.invariant).toBe('S5-disjoint-boot-registrations');
    expect(v.message).toMatch(
      /subpage_mmio_ro_add\(0xfe010800, 0x8\) succeeded after the domain was created/,
    );
  });
});
