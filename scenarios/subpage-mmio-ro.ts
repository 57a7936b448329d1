import { type BootContext, subpageRoBoot } from '../machines/subpage-ro-boot.ts';
import {
  type GuestKind,
  type GuestStore,
  isAllowedStore,
  mfnOffset,
} from '../machines/subpage-ro-fault-path.ts';
import {
  ENTRY_MAPPED,
  ENTRY_RO_ELEMS,
  ENTRY_STRIDE,
  isRoQword,
  PAGE,
  qwordsOf,
  registerAll,
  type SubpageEntry,
} from '../machines/subpage-ro-registration.ts';
import {
  lockWithoutRecheck,
  PTE_PRESENT_RW,
  route8847d6e23f,
  routeWholePage,
  storeAtPageBase,
  subpageRoVcpu,
  type VcpuContext,
} from '../machines/subpage-ro-vcpu.ts';
import { defineScenario, leToNumber, type WorldView } from '../src/index.ts';

/**
 * Seed 002: Xen's sub-page read-only MMIO (8847d6e23f, "x86/mm: add API for marking only
 * part of a MMIO page read only") and its 2025 fixes (domain-facts §3).
 *
 * A device BAR of two pages (mfns 0xfe010-0xfe011) is mapped into the guest at
 * GLA (gla = gpa) read-only: both pages are in mmio_ro_ranges. At boot Xen registers the
 * XHCI DbC registers (64 bytes at +0x40 of the first page) and a range across the two
 * pages (+0xf80, 256 bytes), so both pages get sub-page entries and the first page's
 * bitmap holds bits of two registrations. Then the domain starts and its two vCPUs store
 * to the device. Actors:
 * - `boot`: the registrations (§3.2), then domain creation;
 * - `vcpu0`, `vcpu1`: the guest's stores and Xen's write-fault path on that CPU (§3.3),
 *   with the lazy mapping (§3.4). With the default program vcpu0 writes page 0 then page
 *   1, vcpu1 page 1 then page 0: they race on both entries' `mapped`.
 *
 * Host memory holds the entries (mfn, mapped, ro_elems) and the ioremap area's PTEs; the
 * device's pages are memory too, so every store the device sees is a step the invariants
 * judge. domain_crash() stops the vCPU that crashed the domain; the other vCPU is not cut
 * short (Xen pauses it asynchronously), which changes nothing the invariants judge.
 */
const GLA = 0xc000_0000;
const MFN = 0xfe010;
const PAGES = 2;
const LIST = 0x10_0000;
const PTES = 0x10_1000;
/** The ioremap area's first VA (Xen's VMAP range, without the sign-extended top bits). */
const VMAP_VA = 0x82c0_0040_0000;
const VCPUS = ['vcpu0', 'vcpu1'] as const;

/** Initial device contents: distinct per byte, so a device store is always visible. */
const deviceByte = (o: number) => (o * 0x1d + 0x5a) & 0xff;

const m = (page: number, off: number) => (MFN + page) * PAGE + off;
const RANGES: Record<string, readonly { start: number; size: number }[]> = {
  // The DbC's registers, and a range across the two pages (§3.2 step 2: start and end pages).
  dbc: [
    { start: m(0, 0x40), size: 0x40 },
    { start: m(0, 0xf80), size: 0x100 },
  ],
  // Then one overlapping the DbC's last qword (§3.2 step 3, S5).
  overlap: [
    { start: m(0, 0x40), size: 0x40 },
    { start: m(0, 0xf80), size: 0x100 },
    { start: m(0, 0x78), size: 0x10 },
  ],
  // Then one whose size is not a multiple of 8 (§3.1: -EINVAL, ASSERT in debug builds).
  misaligned: [
    { start: m(0, 0x40), size: 0x40 },
    { start: m(0, 0xf80), size: 0x100 },
    { start: m(1, 0x100), size: 0x0c },
  ],
};

const store = (vcpu: number, page: number, offset: number, len: number, cr2Offset?: number): GuestStore => ({
  page,
  offset,
  len,
  data: Array.from({ length: len }, (_, i) => (0x11 * (vcpu + 1) + i) & 0xff),
  ...(cr2Offset !== undefined ? { cr2Offset } : {}),
});

/** The stores each vCPU makes, per program. */
const PROGRAMS: Record<string, readonly (readonly GuestStore[])[]> = {
  // Allowed first writes to both pages in opposite orders, so the vCPUs race on both
  // lazy mappings; in between, vcpu0 writes into the DbC's read-only registers.
  race: [
    [store(0, 0, 0x08, 8), store(0, 0, 0x44, 4), store(0, 1, 0x88, 8)],
    [store(1, 1, 0x104, 4), store(1, 0, 0x84, 4)],
  ],
  // A 16-byte naturally aligned store (two writable qwords) while vcpu1 maps the page.
  wide: [[store(0, 0, 0x10, 16)], [store(1, 0, 0x20, 8)]],
  // PV corner cases: a misaligned store and one not at cr2 (bad access), a read-only
  // qword, and an allowed byte on the second page.
  mixed: [
    [store(0, 0, 0x0a, 2), store(0, 0, 0x0e, 4), store(0, 0, 0x18, 8, 0x1c)],
    [store(1, 0, 0x48, 8), store(1, 1, 0x81, 1)],
  ],
};

const rangesOf = (p: { readonly ranges: string }) => RANGES[p.ranges];
/** The registry as boot leaves it (registration is deterministic; failures add nothing). */
const entriesCache = new Map<string, readonly SubpageEntry[]>();
function entriesOf(p: { readonly ranges: string }): readonly SubpageEntry[] {
  let e = entriesCache.get(p.ranges);
  if (!e) {
    e = registerAll(rangesOf(p));
    entriesCache.set(p.ranges, e);
  }
  return e;
}
const entryAddr = (p: { readonly ranges: string }, mfn: number) =>
  LIST + entriesOf(p).findIndex((e) => e.mfn === mfn) * ENTRY_STRIDE;

function hex(n: number): string {
  return '0x' + n.toString(16);
}

const isVcpu = (name: string | undefined) => name === 'vcpu0' || name === 'vcpu1';
const DEVICE_END = (MFN + PAGES) * PAGE;

/** The step just taken, if it was a store that reached the device. */
function deviceWrite(view: WorldView) {
  const s = view.lastStep;
  const a = s?.access;
  if (!s || !a || a.kind !== 'write' || a.fault || !a.bytes) return undefined;
  if (a.addr < MFN * PAGE || a.addr >= DEVICE_END) return undefined;
  return { actor: s.actor, addr: a.addr, width: a.width, bytes: a.bytes, before: a.before ?? [] };
}

/** Which entry's field the step touched: the entry slot and the field's offset in it. */
function entryField(addr: number) {
  if (addr < LIST || addr >= LIST + PAGE) return undefined;
  return { slot: Math.floor((addr - LIST) / ENTRY_STRIDE), field: (addr - LIST) % ENTRY_STRIDE };
}

/**
 * The store a vCPU's device write belongs to. The context is the one after the step: when
 * the write was the last operation of the store, the vCPU has already recorded it and
 * moved on, so it is the last record; otherwise it is still the store in progress.
 */
function storeInFlight(view: WorldView, actor: string): GuestStore | undefined {
  const c = view.context<VcpuContext>(actor);
  if (view.lastStep?.footprint.transition) {
    const r = c.records.at(-1);
    return r?.outcome === 'stored' ? r.store : undefined;
  }
  return c.phase === 'storing' ? c.stores[c.k] : undefined;
}

const describeStore = (c: VcpuContext, s: GuestStore) =>
  `${s.len}-byte store to ${mfnOffset(c.mfns[s.page], s.offset)}`;

export default defineScenario({
  name: 'subpage-mmio-ro',
  seed: '002',
  description:
    'Xen sub-page R/O MMIO: 8-byte-granular registration, the PV and HVM write-fault paths, and the lazy first-access mapping raced by two vCPUs (8847d6e23f, 38d0780979, 8dbd9966f8, 8f36bde2b2)',
  params: {
    guest: {
      default: 'hvm-domU',
      values: ['hvm-domU', 'pvh-dom0', 'pv'],
      description: 'the guest and so the write-fault path: HVM domU, PVH dom0 (hardware domain), or PV',
    },
    program: {
      default: 'race',
      values: Object.keys(PROGRAMS),
      description:
        'the stores: race (first allowed writes to both pages, in opposite orders, and a read-only one), wide (a 16-byte store), mixed (PV corner cases)',
    },
    ranges: {
      default: 'dbc',
      values: Object.keys(RANGES),
      description:
        'the boot registrations: dbc, overlap (two overlapping ranges), misaligned (a size not a multiple of 8)',
    },
    cpu: {
      default: 'intel',
      values: ['intel', 'amd'],
      description: 'amd: an HVM nested page fault carries no linear address (§3.3 "HVM, current")',
    },
    ioremap: {
      default: 'may-fail',
      values: ['may-fail', 'ok'],
      description:
        'may-fail: every ioremap may return NULL (§3.4 step 4), a choice the search explores; ok: it never fails',
    },
    build: {
      default: 'debug',
      values: ['debug', 'release'],
      description: "debug: Xen's ASSERTs fire; release: they are compiled out",
    },
  },
  memory: () => [
    // The guest's view: both pages are in mmio_ro_ranges, so mapped read-only (§3.2 step 4).
    { name: 'guest view of the device BAR', base: GLA, pages: PAGES, type: 'mmio-direct-ro' },
    // The device itself, as Xen's ioremap mapping reaches it.
    {
      name: 'device BAR (mfn 0xfe010)',
      base: MFN * PAGE,
      pages: PAGES,
      type: 'mmio-direct',
      init: deviceByte,
    },
    { name: 'xen heap: subpage_ro_ranges', base: LIST, pages: 1, type: 'ram' },
    { name: 'xen ioremap area PTEs', base: PTES, pages: 1, type: 'ram' },
  ],
  locks: () => ({ subpage_ro_lock: 'spinlock' }),
  actors: (p) => {
    const entries = entriesOf(p).map((e) => ({ mfn: e.mfn, addr: entryAddr(p, e.mfn) }));
    const program = PROGRAMS[p.program];
    return {
      boot: {
        machine: subpageRoBoot,
        input: { listBase: LIST, ranges: rangesOf(p), late: [], build: p.build, vcpus: [...VCPUS] },
      },
      ...Object.fromEntries(
        VCPUS.map((name, id) => [
          name,
          {
            machine: subpageRoVcpu,
            input: {
              id,
              guest: p.guest as GuestKind,
              build: p.build,
              glaBase: GLA,
              mfns: Array.from({ length: PAGES }, (_, i) => MFN + i),
              entries,
              vmapVa: VMAP_VA,
              vmapPtes: PTES,
              pages: PAGES,
              stores: program[id] ?? [],
              ioremapMayFail: p.ioremap === 'may-fail',
              glaValid: p.guest === 'pv' || p.cpu === 'intel',
            },
          },
        ]),
      ),
    };
  },
  invariants: {
    // S1: a store into a read-only qword never reaches the device; its outcome is log +
    // retire, or domain_crash for an HVM domU under 8847d6e23f (§3.6).
    'S1-ro-store-dropped': {
      kind: 'local',
      check(view, p) {
        const w = deviceWrite(view);
        if (w) {
          const page = Math.floor(w.addr / PAGE);
          for (let a = w.addr; a < w.addr + w.width; a += 8 - (a % 8)) {
            if (isRoQword(entriesOf(p), page, a % PAGE))
              return `${w.actor} stored ${w.width} bytes at ${hex(w.addr)}: qword ${(a % PAGE) >> 3} of mfn ${hex(page)} is read-only`;
          }
        }
        for (const v of VCPUS) {
          const c = view.context<VcpuContext>(v);
          const r = c.records.at(-1);
          if (!r?.roQword) continue;
          if (r.outcome === 'stored')
            return `${v}'s ${describeStore(c, r.store)} into a read-only qword was performed`;
          // Only an HVM domU, and not through the 2025 MMIO handler, may crash for it.
          if (r.outcome === 'domain_crash' && (c.guest !== 'hvm-domU' || r.route === 'handler'))
            return `${v}'s ${describeStore(c, r.store)} crashed a ${c.guest} domain${r.route === 'handler' ? ' in the MMIO handler' : ''} instead of being dropped and logged`;
          if (r.outcome === 'dropped' && !r.log?.startsWith('ignoring write to R/O MMIO'))
            return `${v}'s ${describeStore(c, r.store)} was dropped without the warning`;
        }
      },
    },
    // S2: an accepted store reaches the device at exactly mfn<<12 | offset (§3.6).
    'S2-store-at-mfn-offset': {
      kind: 'local',
      check(view) {
        const w = deviceWrite(view);
        if (!w) return;
        if (!isVcpu(w.actor)) return `${w.actor} stored to the device at ${hex(w.addr)}`;
        const c = view.context<VcpuContext>(w.actor);
        const s = storeInFlight(view, w.actor);
        if (!s) return `${w.actor} stored to the device at ${hex(w.addr)} outside a store`;
        const want = c.mfns[s.page] * PAGE + s.offset;
        if (w.addr !== want)
          return `${w.actor}'s accepted ${describeStore(c, s)} reached the device at ${hex(w.addr)}, not mfn<<12|offset = ${hex(want)}`;
      },
    },
    // S3: as one access of width len in {1,2,4,8}, naturally aligned, at cr2 (§3.6), and
    // the only one: the device bytes it writes were untouched until then.
    'S3-one-access-of-width-len': {
      kind: 'local',
      check(view) {
        const w = deviceWrite(view);
        if (!w || !isVcpu(w.actor)) return;
        const c = view.context<VcpuContext>(w.actor);
        const s = storeInFlight(view, w.actor);
        if (!s) return;
        if (w.width !== s.len || ![1, 2, 4, 8].includes(s.len))
          return `${w.actor}'s ${describeStore(c, s)} reached the device as a ${w.width}-byte access`;
        if (s.offset % s.len !== 0 || s.offset !== (s.cr2Offset ?? s.offset))
          return `${w.actor}'s ${describeStore(c, s)} is not naturally aligned at cr2, yet reached the device`;
        if (w.bytes.join() !== s.data.join())
          return `${w.actor}'s ${describeStore(c, s)} reached the device with other data`;
        for (let i = 0; i < w.width; i++) {
          if (w.before[i] !== deviceByte(w.addr + i - MFN * PAGE))
            return `${w.actor}'s ${describeStore(c, s)}: the device saw a second access at ${hex(w.addr + i)}`;
        }
      },
    },
    // What the feature is for (§3.2, seed 002): a store the registrations leave writable is
    // performed, not turned into a crash or lost.
    'allowed-store-performed': {
      kind: 'local',
      check(view, p) {
        for (const v of VCPUS) {
          const c = view.context<VcpuContext>(v);
          const r = c.records.at(-1);
          // A failed ioremap drops the write, logged (§3.4 step 4): Xen's own degraded mode.
          // A page with no entry is read-only as a whole (§3.3 PV step 3: "return silently").
          if (
            !r ||
            !isAllowedStore(r.store, r.roQword) ||
            !entriesOf(p).some((e) => e.mfn === r.mfn) ||
            r.outcome === 'stored' ||
            r.outcome === 'map failed'
          )
            continue;
          return `${v}'s ${describeStore(c, r.store)} (qword ${r.store.offset >> 3}, writable) ended in ${r.outcome}${r.log ? ` (${r.log})` : ''} instead of reaching the device`;
        }
      },
    },
    // S4: entry.mapped goes from null to a value at most once, to the publisher's own
    // mapping, and every value read is null or a whole mapping (no torn pointer).
    'S4-mapped-once': {
      kind: 'local',
      check(view) {
        const s = view.lastStep;
        const a = s?.access;
        if (!s || !a || a.fault || !a.bytes) return;
        const f = entryField(a.addr);
        if (!f || f.field !== ENTRY_MAPPED) return;
        const value = leToNumber(a.bytes);
        const off = value - VMAP_VA;
        if (
          a.width !== 8 ||
          (value !== 0 && (off < 0 || off % PAGE !== 0 || off / PAGE >= PAGES * VCPUS.length))
        )
          return `${s.actor} ${a.kind === 'write' ? 'wrote' : 'read'} a torn or foreign entry.mapped: ${hex(value)} (${a.width} bytes at ${hex(a.addr)})`;
        if (a.kind === 'write') {
          const before = leToNumber(a.before ?? []);
          if (before !== 0)
            return `entry.mapped of entry ${f.slot} set a second time by ${s.actor}: ${hex(before)} → ${hex(value)}`;
          if (isVcpu(s.actor) && value !== view.context<VcpuContext>(s.actor).ours)
            return `${s.actor} published ${hex(value)}, not the mapping it ioremapped`;
        }
      },
    },
    // S4: once every vCPU is done, each page has one live mapping, the published one:
    // every losing mapping was unmapped.
    'S4-losers-unmapped': {
      kind: 'stable',
      check(view, p) {
        if (!VCPUS.every((v) => view.actor(v).done)) return;
        const entries = entriesOf(p);
        for (let i = 0; i < entries.length; i++) {
          const mfn = entries[i].mfn;
          const page = mfn - MFN;
          if (page < 0 || page >= PAGES) continue;
          const published = leToNumber(view.peek(entryAddr(p, mfn) + ENTRY_MAPPED, 8));
          for (let v = 0; v < VCPUS.length; v++) {
            const slot = v * PAGES + page;
            const va = VMAP_VA + slot * PAGE;
            const pte = leToNumber(view.peek(PTES + slot * 8, 8));
            if (pte === mfn * PAGE + PTE_PRESENT_RW && va !== published)
              return `${VCPUS[v]}'s mapping ${hex(va)} of mfn ${hex(mfn)} leaked: entry.mapped is ${hex(published)} and it was never iounmapped`;
            if (va === published && pte !== mfn * PAGE + PTE_PRESENT_RW)
              return `entry.mapped of mfn ${hex(mfn)} is ${hex(va)}, which is no longer mapped`;
          }
        }
      },
    },
    // S5: the read-only bit sets of different registrations are disjoint, and all
    // registrations happen before the domain exists (§3.6); nothing writes ro_elems later.
    'S5-disjoint-boot-registrations': {
      kind: 'local',
      check(view) {
        const s = view.lastStep;
        const a = s?.access;
        if (s && a?.kind === 'write' && !a.fault && s.actor !== 'boot') {
          const f = entryField(a.addr);
          if (f && f.field >= ENTRY_RO_ELEMS && f.field < ENTRY_RO_ELEMS + 64)
            return `${s.actor} wrote ro_elems of entry ${f.slot} at runtime`;
        }
        if (s?.actor !== 'boot') return;
        const h = view.context<BootContext>('boot').history;
        const last = h.at(-1);
        if (last?.rc !== 0) return;
        if (last.afterDomain)
          return `subpage_mmio_ro_add(${hex(last.start)}, ${hex(last.size)}) succeeded after the domain was created`;
        for (const earlier of h.slice(0, -1)) {
          for (const r of last.subpages) {
            const theirs = earlier.subpages.filter((e) => e.mfn === r.mfn).flatMap(qwordsOf);
            const q = qwordsOf(r).find((x) => theirs.includes(x));
            if (q !== undefined)
              return `subpage_mmio_ro_add(${hex(last.start)}, ${hex(last.size)}) and (${hex(earlier.start)}, ${hex(earlier.size)}) both make qword ${q} of mfn ${hex(r.mfn)} read-only`;
          }
        }
      },
    },
  },
  defaultVariant: 'final-map-then-recheck',
  variants: {
    'final-map-then-recheck': {
      description:
        'XEN@HEAD: ioremap unlocked, re-check under subpage_ro_lock, the loser iounmaps its own; HVM domU through the 2025 MMIO handler',
      expect: 'pass',
    },
    'v2-map-under-lock': {
      description: 'v2 (2023): double-checked locking with the ioremap under the spinlock',
      expect: 'pass',
      provide: { 'subpage-ro-vcpu': { guards: { ioremapUnderLock: () => true } } },
    },
    'unserialised-map': {
      description: 'publishes its own mapping with no re-check under the lock: two mappings, one leaks',
      expect: 'bug',
      provide: { 'subpage-ro-vcpu': { actions: { lockAndRecheck: lockWithoutRecheck } } },
    },
    'whole-page-ro': {
      description: 'before 8847d6e23f: the whole page read-only, an allowed write by an HVM domU crashes it',
      expect: 'bug',
      provide: { 'subpage-ro-vcpu': { actions: { route: routeWholePage } } },
    },
    'hvm-8847d6e23f': {
      description:
        "8847d6e23f's HVM path: allowed writes emulated through the hook, a write into the read-only part crashes the domU",
      expect: 'pass',
      provide: { 'subpage-ro-vcpu': { actions: { route: route8847d6e23f } } },
    },
    'hvm-8847d6e23f-amd': {
      description:
        "8847d6e23f's HVM path on AMD: no linear address on the exit, so the hook's cr2 check fails and an allowed write crashes the domU (fixed by 8f36bde2b2)",
      expect: 'bug',
      params: { cpu: 'amd' },
      provide: { 'subpage-ro-vcpu': { actions: { route: route8847d6e23f } } },
    },
    'page-base-store': {
      description: 'before 38d0780979: the device store goes to the mapping, not mapping + offset',
      expect: 'bug',
      provide: { 'subpage-ro-vcpu': { actions: { deviceStore: storeAtPageBase } } },
    },
    'wide-store': {
      description: 'before 8dbd9966f8: a PV 16-byte store passes the hook and hits ASSERT_UNREACHABLE',
      expect: 'bug',
      params: { guest: 'pv', program: 'wide' },
      provide: { 'subpage-ro-vcpu': { guards: { tooWide: () => false } } },
    },
    'wide-store-fixed': {
      description: '8dbd9966f8: the 16-byte store is not performed, logged "unsupported 16-byte write"',
      expect: 'pass',
      params: { guest: 'pv', program: 'wide' },
    },
    pv: {
      description:
        'the PV #PF path: misaligned and not-at-cr2 stores are bad accesses, a read-only qword dropped',
      expect: 'pass',
      params: { guest: 'pv', program: 'mixed' },
    },
  },
});
