import {
  BUILD_ORDER,
  type BuildFlow,
  type Dom0Memory,
  type PhaseInput,
} from '../machines/dom0-build-order.ts';
import { type BuilderContext, dom0Builder } from '../machines/dom0-builder.ts';
import { DEFAULT_E820, E820_LIMIT, E820_RAM, e820TypeOf, MB1_PAGES, parseE820 } from '../machines/e820.ts';
import { iommuHwdomInit } from '../machines/iommu-hwdom-init.ts';
import {
  ACCESS_RW,
  callerName,
  decodeEntry,
  describeCall,
  EBUSY,
  EPERM,
  entryAddr,
  P2M_ENTRY_SIZE,
  P2M_INVALID,
  P2M_MMIO_DIRECT,
  P2M_MMIO_DM,
  P2M_RAM_RW,
  P2M_RULES,
  type P2mCall,
  type P2mRules,
  p2mTypeName,
} from '../machines/p2m.ts';
import { pvhPopulateP2m } from '../machines/pvh-populate-p2m.ts';
import { pvhSetupAcpi } from '../machines/pvh-setup-acpi.ts';
import { defineScenario, type WorldView } from '../src/index.ts';

/**
 * Seed 003: Xen PVH Dom0's low 1 MiB after XSA-378 (domain-facts §5). The builder runs
 * dom0_construct_pvh's steps in order (§5.1); iommu_hwdom_init, pvh_populate_p2m and
 * pvh_setup_acpi are actors acting on a p2m that follows the rules of §5.2:
 * - `rules=pre-xsa378`: mmio_direct entries may be replaced by any path;
 * - `rules=xsa378` (753cb68e65, as at 6b4f6a31ac): replacing mmio_direct through
 *   set_mmio_p2m_entry or guest_physmap_add_entry is -EPERM plus domain_crash;
 *   set_identity_p2m_entry over a conflicting entry is -EBUSY;
 * - `rules=xsa378+111469cc7b`: identical re-mappings allowed.
 * `flow=old` is the build before 6b4f6a31ac (§5.3); `flow=map-once` is 6b4f6a31ac (§5.4).
 *
 * The E820 map is a parameter (machines/e820.ts), e.g. `--param e820=ram:0-9e,acpi:fe-101`.
 * test/scenarios/pvh-low-1mb.test.ts generates maps with fast-check.
 */
const MEM: Dom0Memory = { p2m: 0x100000, frames: 0x101000, hostLow: 0x102000, domain: 0x103000 };
const PHASE_ACTORS = {
  iommu_hwdom_init: 'iommu',
  pvh_populate_p2m: 'populate',
  pvh_setup_acpi: 'acpi',
} as const;
type PhaseActor = (typeof PHASE_ACTORS)[keyof typeof PHASE_ACTORS];
const PHASE_OF: Readonly<Record<PhaseActor, string>> = {
  iommu: 'iommu_hwdom_init',
  populate: 'pvh_populate_p2m',
  acpi: 'pvh_setup_acpi',
};
const isPhaseActor = (a: string | undefined): a is PhaseActor => a !== undefined && a in PHASE_OF;

/** The host's low-MiB pages, one signature byte each (never 0, the contents of a fresh page). */
export const hostPageSignature = (pfn: number) => ((pfn * 167 + 91) % 255) + 1;

const hex = (n: number) => `0x${n.toString(16)}`;
const postXsa378 = (p: { readonly rules: string }) => p.rules !== 'pre-xsa378';

/** The p2m call the actor of the last step made, if it is a phase actor. */
function lastCall(view: WorldView): { actor: PhaseActor; call: P2mCall } | undefined {
  const actor = view.lastStep?.actor;
  if (!isPhaseActor(actor)) return undefined;
  const call = view.context<{ readonly call: P2mCall | undefined }>(actor).call;
  return call ? { actor, call } : undefined;
}

/** The p2m entry the last step accessed: its gfn, and for a write the entry before and after. */
function lastEntryAccess(view: WorldView) {
  const a = view.lastStep?.access;
  if (!a || a.addr < MEM.p2m || a.addr >= MEM.p2m + E820_LIMIT * P2M_ENTRY_SIZE) return undefined;
  const gfn = Math.floor((a.addr - MEM.p2m) / P2M_ENTRY_SIZE);
  const write = a.kind === 'write' && a.before && a.bytes;
  return {
    gfn,
    kind: a.kind,
    before: write ? decodeEntry(a.before ?? []) : undefined,
    after: write ? decodeEntry(a.bytes ?? []) : undefined,
  };
}

export default defineScenario({
  name: 'pvh-low-1mb',
  seed: '003',
  description:
    "Xen PVH Dom0 build: iommu_hwdom_init, pvh_populate_p2m and pvh_setup_acpi mapping the low 1 MiB on a p2m with XSA-378's rules (6b4f6a31ac)",
  params: {
    e820: {
      default: DEFAULT_E820,
      description:
        'Dom0 E820 map in pages: type:first-last (hex, inclusive), comma-separated, sorted; types ram, reserved, acpi, nvs, unusable; pages below 0x200',
    },
    rules: {
      default: 'xsa378',
      values: P2M_RULES,
      description: 'p2m rules: pre-xsa378 (mmio_direct replaceable), xsa378 (753cb68e65), xsa378+111469cc7b',
    },
    flow: {
      default: 'map-once',
      values: ['old', 'map-once'],
      description: 'build flow: old (before 6b4f6a31ac) or map-once (6b4f6a31ac)',
    },
  },
  memory: () => [
    { name: 'dom0 p2m (8-byte entries)', base: MEM.p2m, pages: 1, type: 'ram' },
    { name: 'dom0 guest pages (a signature byte each)', base: MEM.frames, pages: 1, type: 'ram' },
    {
      name: 'host low 1 MiB (a signature byte per page)',
      base: MEM.hostLow,
      pages: 1,
      type: 'ram',
      init: (o) => (o < MB1_PAGES ? hostPageSignature(o) : 0),
    },
    { name: 'struct domain (is_crashed)', base: MEM.domain, pages: 1, type: 'ram' },
  ],
  actors: (p) => {
    const input: PhaseInput = {
      mem: MEM,
      e820: parseE820(p.e820),
      rules: p.rules as P2mRules,
      flow: p.flow as BuildFlow,
      builder: 'builder',
    };
    return {
      builder: { machine: dom0Builder, input: { order: BUILD_ORDER, actors: PHASE_ACTORS } },
      iommu: { machine: iommuHwdomInit, input },
      populate: { machine: pvhPopulateP2m, input },
      acpi: { machine: pvhSetupAcpi, input },
    };
  },
  invariants: {
    // §5.5 P1: each GFN in [0,256) gets exactly one establishing operation (under XSA-378's
    // rules, where a second one cannot replace the first), and ends p2m_ram_rw (E820 RAM,
    // the host's contents) or p2m_mmio_direct with mfn == gfn.
    P1: {
      check(view, p) {
        const last = lastCall(view);
        if (postXsa378(p) && last && last.call.gfn < MB1_PAGES && last.call.before.owner !== 0) {
          const fails = last.call.crash ? '; the build fails: Could not construct domain 0' : '';
          return `gfn ${hex(last.call.gfn)} gets a second establishing operation: ${describeCall(last.call)}${fails}`;
        }
        if (view.actor('builder').state !== 'built') return;
        const map = parseE820(p.e820);
        for (let gfn = 0; gfn < MB1_PAGES; gfn++) {
          const e = decodeEntry(view.peek(entryAddr(MEM.p2m, gfn), P2M_ENTRY_SIZE));
          const ram = e820TypeOf(map, gfn) === E820_RAM;
          if (e.type === P2M_RAM_RW && ram) {
            const got = view.peek(MEM.frames + gfn, 1)[0];
            if (got !== hostPageSignature(gfn))
              return `gfn ${hex(gfn)} is RAM but its contents (${hex(got)}) are not the host's (${hex(hostPageSignature(gfn))})`;
          } else if (e.type === P2M_MMIO_DIRECT && !ram) {
            if (e.mfn !== gfn)
              return `gfn ${hex(gfn)} is p2m_mmio_direct to mfn ${hex(e.mfn)}, not an identity map`;
          } else {
            return `gfn ${hex(gfn)} ends ${p2mTypeName(e.type)} (by ${callerName(e.owner)}) though the E820 says ${ram ? 'RAM' : 'not RAM'}`;
          }
        }
      },
    },
    // §5.5 P2: only the dedicated clear accessor replaces or removes p2m_mmio_direct; any
    // other attempt is -EPERM and domain_crash; under 111469cc7b an identical re-set is 0.
    // A rule of XSA-378 (753cb68e65): before it, replacing was allowed (§5.2 row 4).
    P2: {
      kind: 'local',
      check(view, p) {
        if (!postXsa378(p)) return;
        const identicalOk = p.rules === 'xsa378+111469cc7b';
        const w = lastEntryAccess(view);
        if (w?.before?.type === P2M_MMIO_DIRECT && w.after) {
          const same = w.after.type === P2M_MMIO_DIRECT && w.after.mfn === w.before.mfn;
          if (!(identicalOk && same))
            return `gfn ${hex(w.gfn)}: ${view.lastStep?.actor} replaced the p2m_mmio_direct entry ${callerName(w.before.owner)} established with ${p2mTypeName(w.after.type)}`;
        }
        const last = lastCall(view);
        const c = last?.call;
        if (!c || c.fn === 'set_identity_p2m_entry' || c.before.type !== P2M_MMIO_DIRECT) return;
        if (identicalOk && c.fn === 'set_mmio_p2m_entry' && c.before.mfn === c.gfn) return;
        if (c.rc !== EPERM || !c.crash)
          return `gfn ${hex(c.gfn)}: ${c.fn} over p2m_mmio_direct returned ${c.rc}${c.crash ? '' : ' without domain_crash'}, not -EPERM and domain_crash`;
      },
    },
    // §5.5 P3: set_identity_p2m_entry over a conflicting entry is -EBUSY, never an overwrite.
    P3: {
      kind: 'local',
      check(view) {
        const c = lastCall(view)?.call;
        if (c?.fn !== 'set_identity_p2m_entry') return;
        const b = c.before;
        const free = b.type === P2M_INVALID || b.type === P2M_MMIO_DM;
        // The same identity mapping, with set_identity_p2m_entry's access (p2m_access_rw), is 0.
        const same = b.type === P2M_MMIO_DIRECT && b.mfn === c.gfn && b.access === ACCESS_RW;
        if (!free && !same && (c.rc !== EBUSY || c.wrote))
          return `gfn ${hex(c.gfn)}: set_identity_p2m_entry over ${p2mTypeName(b.type)} returned ${c.rc}${c.wrote ? ' and overwrote it' : ''}, not -EBUSY`;
      },
    },
    // §5.5 P4: the order of §5.1, and every phase actor touches the p2m only during its own
    // step. Under the 6b4f6a31ac model neither pvh_setup_acpi nor arch_iommu_hwdom_init
    // touches a GFN below 256 (the old flow does by design, §5.3, so that half is map-once's).
    P4: {
      check(view, p) {
        const b = view.context<BuilderContext>('builder');
        const done = b.completed;
        if (done.some((ph, i) => ph !== BUILD_ORDER[i]))
          return `the build ran ${done.join(' → ')}, not in the order ${BUILD_ORDER.join(' → ')}`;
        const actor = view.lastStep?.actor;
        if (!isPhaseActor(actor)) return;
        const w = lastEntryAccess(view);
        if (w && b.phase !== PHASE_OF[actor])
          return `${PHASE_OF[actor]} touched gfn ${hex(w.gfn)} while the builder was in ${b.phase ?? 'no step'}`;
        if (p.flow === 'map-once' && w && w.gfn < MB1_PAGES && (actor === 'acpi' || actor === 'iommu'))
          return `${PHASE_OF[actor]} touched gfn ${hex(w.gfn)}, below 1 MiB`;
      },
    },
    // §5.1: any failure makes construct_dom0 fail, and the host panics.
    'dom0-built': {
      kind: 'local',
      check(view) {
        if (view.lastStep?.actor !== 'builder') return;
        const f = view.context<BuilderContext>('builder').failure;
        if (f) return `Could not construct domain 0: ${f.phase} returned ${f.rc}: ${f.detail ?? ''}`;
      },
    },
  },
  defaultVariant: 'map-once',
  variants: {
    'pre-xsa378': {
      description:
        'the old build flow on the p2m before XSA-378: the blanket low-MiB identity map, then RAM and ACPI replace mmio_direct entries',
      expect: 'pass',
      params: { rules: 'pre-xsa378', flow: 'old' },
    },
    'xsa378-old-flow': {
      description:
        'the old build flow after 753cb68e65: the first duplicate mapping of a low-MiB GFN is -EPERM and domain_crash; Dom0 is not built',
      expect: 'bug',
      params: { rules: 'xsa378', flow: 'old' },
    },
    'map-once': {
      description:
        '6b4f6a31ac: the IOMMU starts at 1 MiB, RAM first then identity maps of the remaining low-MiB holes, ACPI clipped at 1 MiB',
      expect: 'pass',
      params: { rules: 'xsa378', flow: 'map-once' },
    },
  },
});
