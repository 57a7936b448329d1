import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BUILD_ORDER } from '../../machines/dom0-build-order.ts';
import {
  DEFAULT_E820,
  E820_ACPI,
  E820_NVS,
  E820_RAM,
  E820_RESERVED,
  type E820Entry,
  type E820Map,
  type E820Type,
  encodeE820,
  MB1_PAGES,
  parseE820,
} from '../../machines/e820.ts';
import {
  MAP_MMIO_MAX_ITER,
  type MmioWalk,
  startWalk,
  walkAfter,
} from '../../machines/modify-identity-mmio.ts';
import {
  ACCESS_RW,
  ACCESS_RWX,
  callerCode,
  EBUSY,
  EMPTY_ENTRY,
  EPERM,
  guestPhysmapAddEntry,
  P2M_MMIO_DIRECT,
  P2M_MMIO_DM,
  P2M_RAM_RW,
  type P2mCall,
  type P2mEntry,
  setIdentityP2mEntry,
  setMmioP2mEntry,
  setTypedP2mEntry,
} from '../../machines/p2m.ts';
import { clipBelow1MiB } from '../../machines/pvh-setup-acpi.ts';
import pvh from '../../scenarios/pvh-low-1mb.ts';
import { check, defineScenario, type ParamValue, type WorldView } from '../../src/index.ts';
import { bin, cli } from '../cli/helpers.ts';

const dpor = { strategy: 'dpor', workers: 1, traceDir: null } as const;

async function verdict(variant: string, params: Record<string, ParamValue> = {}, scenario = pvh) {
  const r = await check(scenario, { ...dpor, variants: [variant], params });
  expect(r.results).toHaveLength(1);
  const v = r.results[0];
  expect(v.error).toBeUndefined();
  return v;
}

/** The scenario with only the named invariants. */
function only(...names: string[]) {
  const all = pvh.invariants ?? {};
  return defineScenario({ ...pvh, invariants: Object.fromEntries(names.map((n) => [n, all[n]])) });
}

const mmio = (gfn: number, owner = callerCode('iommu'), access = ACCESS_RW): P2mEntry => ({
  type: P2M_MMIO_DIRECT,
  owner,
  mfn: gfn,
  access,
});
const ramEntry: P2mEntry = { type: P2M_RAM_RW, owner: callerCode('ram'), mfn: 0x1234, access: ACCESS_RWX };

describe('e820 maps as a parameter (domain-facts §5.1)', () => {
  it('parses the default map and encodes it back', () => {
    const map = parseE820(DEFAULT_E820);
    expect(map[0]).toEqual({ type: E820_RAM, start: 0, pages: 0x9f });
    expect(map[1]).toEqual({ type: E820_RESERVED, start: 0x9f, pages: 1 });
    expect(
      map.some((e) => e.type === E820_ACPI && e.start < MB1_PAGES && e.start + e.pages > MB1_PAGES),
    ).toBe(true);
    expect(map.some((e) => e.type === E820_NVS && e.start + e.pages <= MB1_PAGES)).toBe(true);
    expect(encodeE820(map)).toBe(DEFAULT_E820);
  });
  it('names the bad entry and what is wrong with it', () => {
    expect(() => parseE820('ram:0-9e,acpi:9f-10x')).toThrow(
      /entry 2 'acpi:9f-10x': expected type:first-last/,
    );
    expect(() => parseE820('ram:0-9e,rom:a0')).toThrow(/entry 2 'rom:a0': unknown type 'rom'/);
    expect(() => parseE820('ram:0-9e,acpi:90-a0')).toThrow(
      /entry 2 'acpi:90-a0': overlaps or precedes entry 1/,
    );
    expect(() => parseE820('ram:5-2')).toThrow(/entry 1 'ram:5-2': last page 0x2 is below the first/);
    expect(() => parseE820('ram:0-9e,ram:100-200')).toThrow(/entry 2 .*beyond the model's GFN space/);
  });
});

describe('p2m rules of domain-facts §5.2, row by row', () => {
  const owner = callerCode('blanket');
  it('set_mmio_p2m_entry over mmio_direct: domain_crash + -EPERM after XSA-378, never an overwrite', () => {
    const o = setMmioP2mEntry('xsa378', mmio(0x9f), 0x9f, 0x9f, owner);
    expect(o).toEqual({ rc: EPERM, crash: true, log: undefined });
  });
  it('before XSA-378 the same call replaces the entry', () => {
    const o = setMmioP2mEntry('pre-xsa378', mmio(0x9f), 0x9f, 0x9f, owner);
    expect(o.rc).toBe(0);
    expect(o.crash).toBe(false);
    expect(o.write).toEqual({ type: P2M_MMIO_DIRECT, owner, mfn: 0x9f, access: ACCESS_RWX });
  });
  it('111469cc7b: identical mfn and type is 0, re-set when only the access differs; anything else still crashes and logs', () => {
    const sameAccess = setMmioP2mEntry('xsa378+111469cc7b', mmio(0x9f, owner, ACCESS_RWX), 0x9f, 0x9f, owner);
    expect(sameAccess).toEqual({ rc: 0, crash: false });
    const newAccess = setMmioP2mEntry('xsa378+111469cc7b', mmio(0x9f), 0x9f, 0x9f, owner);
    expect(newAccess.rc).toBe(0);
    expect(newAccess.write).toEqual({ ...mmio(0x9f), access: ACCESS_RWX });
    const other = setMmioP2mEntry('xsa378+111469cc7b', { ...mmio(0x9f), mfn: 0x500 }, 0x9f, 0x9f, owner);
    expect(other.rc).toBe(EPERM);
    expect(other.crash).toBe(true);
    expect(other.write).toBeUndefined();
    expect(other.log).toMatch(/^GFN 0x9f .* not permitted$/);
  });
  it('set_mmio_p2m_entry over RAM: invalidate the M2P entry and overwrite, in every rule set', () => {
    for (const rules of ['pre-xsa378', 'xsa378', 'xsa378+111469cc7b'] as const) {
      const o = setMmioP2mEntry(rules, ramEntry, 5, 5, owner);
      expect(o).toMatchObject({ rc: 0, crash: false, m2pInvalidated: true });
      expect(o.write?.type).toBe(P2M_MMIO_DIRECT);
    }
  });
  it('an existing order smaller than requested returns cur_order + 1', () => {
    const req = { gfn: 0, mfn: 0, type: P2M_MMIO_DIRECT, access: ACCESS_RWX, owner, order: 9 } as const;
    expect(setTypedP2mEntry('xsa378', EMPTY_ENTRY, req, 0)).toEqual({ rc: 1, crash: false });
    expect(setTypedP2mEntry('xsa378', EMPTY_ENTRY, req, 9).rc).toBe(0);
  });
  it('guest_physmap_add_entry over mmio_direct: domain_crash + -EPERM; before XSA-378 silently replaced', () => {
    const req = { mfn: 0x1000, owner: callerCode('ram') };
    expect(guestPhysmapAddEntry('xsa378', mmio(3), req)).toEqual({ rc: EPERM, crash: true });
    expect(guestPhysmapAddEntry('xsa378+111469cc7b', mmio(3), req)).toEqual({ rc: EPERM, crash: true });
    const pre = guestPhysmapAddEntry('pre-xsa378', mmio(3), req);
    expect(pre.rc).toBe(0);
    expect(pre.write).toMatchObject({ type: P2M_RAM_RW, mfn: 0x1000 });
    expect(guestPhysmapAddEntry('xsa378', EMPTY_ENTRY, req).write?.type).toBe(P2M_RAM_RW);
  });
  it('set_identity_p2m_entry: invalid or mmio_dm → mmio_direct with mfn == gfn', () => {
    const req = { gfn: 0x9f, owner: callerCode('iommu') };
    const free: P2mEntry[] = [EMPTY_ENTRY, { ...EMPTY_ENTRY, type: P2M_MMIO_DM }];
    for (const cur of free) {
      expect(setIdentityP2mEntry(cur, req)).toEqual({ rc: 0, crash: false, write: mmio(0x9f) });
    }
  });
  it('set_identity_p2m_entry: the same identity mapping → 0, nothing written', () => {
    expect(setIdentityP2mEntry(mmio(0x9f), { gfn: 0x9f, owner: 1 })).toEqual({ rc: 0, crash: false });
  });
  it('set_identity_p2m_entry: anything else → -EBUSY and the warning, never an overwrite (0 if relaxed)', () => {
    const conflicting: P2mEntry[] = [ramEntry, { ...mmio(0x9f), mfn: 0x77 }, mmio(0x9f, 1, ACCESS_RWX)];
    for (const cur of conflicting) {
      const o = setIdentityP2mEntry(cur, { gfn: 0x9f, owner: 1 });
      expect(o.rc).toBe(EBUSY);
      expect(o.write).toBeUndefined();
      expect(o.crash).toBe(false);
      expect(o.log).toMatch(/Cannot setup identity map d0:9f, gfn already mapped/);
      expect(setIdentityP2mEntry(cur, { gfn: 0x9f, owner: 1, relaxed: true })).toMatchObject({ rc: 0 });
    }
  });
});

describe('modify_identity_mmio over map_mmio_regions (§5.1 MAP_MMIO_MAX_ITER)', () => {
  /** Runs the walk with set_mmio_p2m_entry failing at `bad`; returns the gfns tried and the rc. */
  function walk(pfn: number, nr: number, bad?: number) {
    const tried: number[] = [];
    let s = startWalk(pfn, nr);
    let last: MmioWalk | undefined;
    while ('next' in s) {
      last = s.next;
      const gfn = s.next.pfn + s.next.i;
      tried.push(gfn);
      s = walkAfter(s.next, gfn === bad ? EPERM : 0);
    }
    return { tried, rc: s.rc, calls: last?.calls ?? 0 };
  }
  it('maps every page once, in calls of at most 64 iterations', () => {
    const w = walk(0, MB1_PAGES);
    expect(w.tried).toEqual([...Array(MB1_PAGES).keys()]);
    expect(w.rc).toBe(0);
    expect(w.calls).toBe(MB1_PAGES / MAP_MMIO_MAX_ITER);
  });
  it('an error after progress returns the progress; the retry from the failing pfn returns the error', () => {
    const w = walk(0, MB1_PAGES, 0x9f);
    expect(w.tried.slice(-2)).toEqual([0x9f, 0x9f]);
    expect(w.rc).toBe(EPERM);
  });
  it('an error at the first page returns it at once', () => {
    expect(walk(0xe0, 4, 0xe0)).toMatchObject({ tried: [0xe0], rc: EPERM });
  });
  it('pvh_setup_acpi under 6b4f6a31ac skips ranges below 1 MiB and clips one straddling it (§5.4 item 3)', () => {
    expect(clipBelow1MiB({ pfn: 0xe0, nr: 4 })).toBeUndefined();
    expect(clipBelow1MiB({ pfn: 0xfe, nr: 4 })).toEqual({ pfn: 0x100, nr: 2 });
    expect(clipBelow1MiB({ pfn: 0x120, nr: 4 })).toEqual({ pfn: 0x120, nr: 4 });
  });
});

describe('pvh-low-1mb: every variant gets its verdict by exhaustive search', () => {
  for (const [variant, spec] of Object.entries(pvh.variants)) {
    it(`${variant}: ${spec.expect}`, async () => {
      const v = await verdict(variant);
      expect(v.verdict).toBe(spec.expect);
      if (spec.expect === 'pass') expect(v.exhaustive).toBe(true);
    });
  }
});

describe('pvh-low-1mb: what the old flow shows after XSA-378', () => {
  it('xsa378-old-flow: P1 at the first duplicate mapping, naming the gfn and both callers', async () => {
    const v = await verdict('xsa378-old-flow');
    expect(v.kind).toBe('invariant');
    expect(v.invariant).toBe('P1');
    expect(v.actor).toBe('populate');
    // The IOMMU identity-mapped the reserved EBDA page 0x9f; the blanket map hits it.
    expect(v.message).toMatch(/gfn 0x9f gets a second establishing operation/);
    expect(v.message).toMatch(
      /pvh_populate_p2m: modify_identity_mmio\(0, 256\) \(set_mmio_p2m_entry\) got -EPERM, domain_crash/,
    );
    expect(v.message).toMatch(
      /over the p2m_mmio_direct entry arch_iommu_hwdom_init \(set_identity_p2m_entry\) established/,
    );
    expect(v.message).toMatch(/Could not construct domain 0/);
  });
  it('without P1 the host panics: "Could not construct domain 0", after the retry from the failing pfn', async () => {
    const v = await verdict('xsa378-old-flow', {}, only('P2', 'P3', 'P4', 'dom0-built'));
    expect(v.invariant).toBe('dom0-built');
    expect(v.message).toMatch(
      /^invariant dom0-built broken: Could not construct domain 0: pvh_populate_p2m returned -1: Failed to identity map low 1MB: -1; gfn 0x9f: .*modify_identity_mmio.* over the p2m_mmio_direct entry arch_iommu_hwdom_init/,
    );
  });
  it('with no reserved region below 1 MiB, the RAM population hits the blanket map (§5.3 step 2)', async () => {
    const v = await verdict('xsa378-old-flow', { e820: 'ram:0-9e,ram:100-10f' }, only('dom0-built'));
    expect(v.message).toMatch(
      /Failed to populate memory: \[0x0, 0x9f\) -1; gfn 0x0: pvh_populate_memory_range \(guest_physmap_add_page\) got -EPERM, domain_crash, over the p2m_mmio_direct entry pvh_populate_p2m: modify_identity_mmio\(0, 256\)/,
    );
  });
  it('with only ACPI below 1 MiB, pvh_setup_acpi hits the blanket map (§5.3, last point)', async () => {
    const v = await verdict('xsa378-old-flow', { e820: 'acpi:e0-e3' }, only('dom0-built'));
    expect(v.message).toMatch(
      /pvh_setup_acpi returned -1: Failed to map ACPI region \[0xe0, 0xe4\) into Dom0 memory map; gfn 0xe0: pvh_setup_acpi.* got -EPERM, domain_crash, over the p2m_mmio_direct entry pvh_populate_p2m/,
    );
  });
  it('111469cc7b alone does not save the old flow: the identical re-map passes, the RAM population still crashes', async () => {
    const v = await verdict('xsa378-old-flow', { rules: 'xsa378+111469cc7b' }, only('P2', 'dom0-built'));
    expect(v.invariant).toBe('dom0-built');
    expect(v.message).toMatch(/gfn 0x0: pvh_populate_memory_range .* got -EPERM, domain_crash/);
    // P1 still sees the duplicate the old flow makes, even where it returns 0.
    const p1 = await verdict('xsa378-old-flow', { rules: 'xsa378+111469cc7b' });
    expect(p1.invariant).toBe('P1');
    expect(p1.message).toMatch(
      /gfn 0x9f gets a second establishing operation: .*modify_identity_mmio.* got 0, over/,
    );
    expect(p1.message).not.toMatch(/Could not construct/);
    const fixed = await verdict('map-once', { rules: 'xsa378+111469cc7b' });
    expect(fixed.verdict).toBe('pass');
  });
});

describe('pvh-low-1mb: each invariant catches the rule it guards', () => {
  it('P2: a p2m that still replaces mmio_direct after XSA-378', async () => {
    // The machines run the pre-XSA-378 rules while the invariants judge by XSA-378's.
    const lax = defineScenario({ ...only('P2'), actors: (p) => pvh.actors({ ...p, rules: 'pre-xsa378' }) });
    const v = await verdict('xsa378-old-flow', {}, lax);
    expect(v.invariant).toBe('P2');
    expect(v.message).toMatch(
      /gfn 0x9f: set_mmio_p2m_entry over p2m_mmio_direct returned 0 without domain_crash, not -EPERM and domain_crash/,
    );
  });
  it('P3: set_identity_p2m_entry over a conflicting entry must be -EBUSY and write nothing', () => {
    const p3 = pvh.invariants?.P3;
    const checkP3 = typeof p3 === 'function' ? p3 : p3?.check;
    const call = (rc: number, wrote: boolean): P2mCall => ({
      fn: 'set_identity_p2m_entry',
      caller: 'iommu',
      gfn: 0x9f,
      before: ramEntry,
      rc,
      crash: false,
      wrote,
    });
    const view = (c: P2mCall) =>
      ({ lastStep: { actor: 'iommu' }, context: () => ({ call: c }) }) as unknown as WorldView;
    const params = { e820: DEFAULT_E820, rules: 'xsa378', flow: 'map-once' };
    expect(checkP3?.(view(call(EBUSY, false)), params)).toBeUndefined();
    expect(checkP3?.(view(call(0, true)), params)).toMatch(
      /over p2m_ram_rw returned 0 and overwrote it, not -EBUSY/,
    );
  });
  it('P4: a build that runs pvh_populate_p2m before iommu_hwdom_init', async () => {
    const swapped = [...BUILD_ORDER];
    [swapped[1], swapped[2]] = [swapped[2], swapped[1]];
    const s = defineScenario({
      ...only('P4'),
      actors: (p) => {
        const a = pvh.actors(p);
        return {
          ...a,
          builder: {
            machine: a.builder.machine,
            input: { order: swapped, actors: (a.builder.input as { actors: unknown }).actors },
          },
        };
      },
    });
    const v = await verdict('map-once', {}, s);
    expect(v.invariant).toBe('P4');
    expect(v.message).toMatch(/the build ran pvh_init_p2m → pvh_populate_p2m, not in the order/);
  });
  it('P4: under 6b4f6a31ac, pvh_setup_acpi mapping ACPI below 1 MiB', async () => {
    const s = defineScenario({
      ...only('P4'),
      variants: {
        m: {
          ...pvh.variants['map-once'],
          provide: { 'pvh-setup-acpi': { guards: { skipsLowMiB: () => false } } },
        },
      },
    });
    const v = await verdict('m', {}, s);
    expect(v.message).toMatch(/pvh_setup_acpi touched gfn 0xe0, below 1 MiB/);
  });
  it('P4: under 6b4f6a31ac, arch_iommu_hwdom_init mapping reserved pages below 1 MiB; without P4 the ASSERT fires', async () => {
    const provide = { 'iommu-hwdom-init': { guards: { startsAt1MiB: () => false } } };
    const variants = { m: { ...pvh.variants['map-once'], provide } };
    const v = await verdict('m', {}, defineScenario({ ...only('P4'), variants }));
    expect(v.message).toMatch(/iommu_hwdom_init touched gfn 0x9f, below 1 MiB/);
    // The hole scan finds the IOMMU's entry: the assertion 2d5fc9120d later relaxed (§5.4).
    const a = await verdict('m', {}, defineScenario({ ...only('P1', 'P2', 'P3', 'dom0-built'), variants }));
    expect(a.kind).toBe('assertion');
    expect(a.message).toMatch(
      /ASSERT\(p2mt == p2m_ram_rw\) in pvh_populate_p2m: gfn 0x9f is p2m_mmio_direct, established by arch_iommu_hwdom_init/,
    );
  });
  it('P1: a populate that skips copying the host bytes below 1 MiB', async () => {
    const variants = {
      m: {
        ...pvh.variants['map-once'],
        provide: { 'pvh-populate-p2m': { guards: { rangeIsLow: () => false } } },
      },
    };
    const v = await verdict('m', {}, defineScenario({ ...pvh, variants }));
    expect(v.invariant).toBe('P1');
    expect(v.message).toMatch(/gfn 0x0 is RAM but its contents \(0x0\) are not the host's/);
  });
});

// E820 maps for the property: RAM, reserved, ACPI and NVS regions in the low MiB, sorted
// and disjoint, then one region straddling 1 MiB.
const LOW_TYPES: readonly E820Type[] = [E820_RAM, E820_RESERVED, E820_ACPI, E820_NVS];
const e820Type = fc.constantFrom(...LOW_TYPES);
const e820Map: fc.Arbitrary<E820Map> = fc
  .record({
    low: fc.array(
      fc.record({
        type: e820Type,
        gap: fc.integer({ min: 0, max: 16 }),
        pages: fc.integer({ min: 1, max: 48 }),
      }),
      { maxLength: 8 },
    ),
    straddle: fc.record({
      type: e820Type,
      below: fc.integer({ min: 1, max: 16 }),
      above: fc.integer({ min: 1, max: 16 }),
    }),
  })
  .map(({ low, straddle }) => {
    const first = MB1_PAGES - straddle.below;
    const out: E820Entry[] = [];
    let at = 0;
    for (const r of low) {
      const start = at + r.gap;
      if (start + r.pages > first) break;
      out.push({ type: r.type, start, pages: r.pages });
      at = start + r.pages;
    }
    out.push({ type: straddle.type, start: first, pages: straddle.below + straddle.above });
    return out;
  });

/** Is the map one the arbitrary promises: sorted, disjoint, one region straddling 1 MiB, last? */
function wellFormed(map: E820Map): boolean {
  const last = map.at(-1);
  const sorted = map.every((e, i) => i === 0 || map[i - 1].start + map[i - 1].pages <= e.start);
  return sorted && last !== undefined && last.start < MB1_PAGES && last.start + last.pages > MB1_PAGES;
}

async function passes(variant: string, map: E820Map): Promise<boolean> {
  const e820 = encodeE820(map);
  expect(parseE820(e820)).toEqual(map);
  const v = await verdict(variant, { e820 });
  return v.verdict === 'pass' && v.exhaustive === true;
}

describe('pvh-low-1mb: generated e820 maps (fast-check)', () => {
  it('map-once: P1-P4 hold for every generated map', async () => {
    let tried = 0;
    const started = Date.now();
    await fc.assert(
      fc.asyncProperty(e820Map, async (map) => {
        tried++;
        expect(wellFormed(map)).toBe(true);
        return passes('map-once', map);
      }),
      { seed: 20210830, numRuns: 60 },
    );
    expect(tried).toBe(60);
    console.log(`pvh-low-1mb map-once: ${tried} e820 maps tried in ${Date.now() - started} ms`);
  }, 60_000);

  it('xsa378-old-flow: the property fails, and fast-check shrinks the map to a minimal one', async () => {
    const started = Date.now();
    let firstFailing: E820Map | undefined;
    const out = await fc.check(
      fc.asyncProperty(e820Map, async (map) => {
        const ok = await passes('xsa378-old-flow', map);
        if (!ok) firstFailing ??= map;
        return ok;
      }),
      { seed: 20210830, numRuns: 40 },
    );
    expect(out.failed).toBe(true);
    const [map] = out.counterexample ?? [[]];
    // Any low-MiB region breaks the old flow; the minimal map is the straddling region alone.
    expect(map.length).toBeLessThanOrEqual(2);
    expect(map).toHaveLength(1);
    expect(map[0].start + map[0].pages).toBe(MB1_PAGES + 1);
    expect(out.numShrinks).toBeGreaterThan(0);
    expect(firstFailing?.length).toBeGreaterThan(map.length);
    console.log(
      `pvh-low-1mb xsa378-old-flow: failed at map ${out.numRuns} (e820=${encodeE820(firstFailing ?? [])}), shrunk ${out.numShrinks} times to e820=${encodeE820(map)} in ${Date.now() - started} ms`,
    );
  }, 60_000);
});

describe('pvh-low-1mb on the command line', () => {
  it('list shows it; check reports every variant as expected (exit 0)', async () => {
    const list = await cli('list');
    expect(list.out).toMatch(/pvh-low-1mb {2}\(seed 003\)/);
    expect(list.out).toMatch(/pvh-low-1mb:xsa378-old-flow +expect bug/);
    const r = await cli('check', 'pvh-low-1mb', '--workers', '1', '--json');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out);
    expect(doc.results.map((x: { variant: string; verdict: string }) => `${x.variant}:${x.verdict}`)).toEqual(
      ['pre-xsa378:pass', 'xsa378-old-flow:bug', 'map-once:pass'],
    );
  });
  it('a bad e820 parameter: one line naming the entry, exit 2, no stack trace', () => {
    const r = bin('check', 'pvh-low-1mb:map-once', '--param', 'e820=ram:0-9e,acpi:fe-10g');
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/--param e820: entry 2 'acpi:fe-10g': expected type:first-last/);
    expect(r.err).not.toMatch(/\n\s+at /);
  });
});
