import {
  ESR_CM,
  ESR_ISV,
  ESR_WNR,
  FSC_FAULT,
  FSC_PERM,
  type GuestOp,
  isCmo,
  KVM_EXIT_ARM_NISV,
  NISV_ISS_MASK,
} from '../machines/arm64-esr.ts';
import {
  arm64Vcpu,
  asCivacHandleGuestAbort,
  cmoTranslationFaultIsRead,
  type Instruction,
  type InstructionRecord,
  rfcHandleGuestAbort,
  skipCmoHandleGuestAbort,
  type VcpuContext,
} from '../machines/arm64-vcpu.ts';
import { arm64Vmm, type VmmContext } from '../machines/arm64-vmm.ts';
import { type Memslot, PAGE, type SlotKind } from '../machines/memslot.ts';
import { describePte, isWritable } from '../machines/stage2-pte.ts';
import { defineScenario, leToNumber, type WorldView } from '../src/index.ts';

/**
 * Seed 001: DC IVAC / DC CIVAC on a read-only memslot, KVM arm64 (domain-facts §4).
 *
 * Three guest pages from IPA_BASE: a read-write memslot (guest RAM), a read-only memslot
 * (a flash image, KVM_MEM_READONLY) and a page in no memslot. Their stage-2 entries are
 * words in a host-memory page, read by the hardware walk and written by user_mem_abort
 * under `mmu_lock`. Actors:
 * - `vcpu0`, `vcpu1`: the guest and KVM's abort path (machines/arm64-vcpu.ts). Each runs
 *   its instruction (param `vcpu0`/`vcpu1`) at offset 0x40 of each page `slot` names, in
 *   the order absent, read-write, read-only; both vCPUs fault on the same pages;
 * - `vmm`: userspace, receiving the exits.
 *
 * `contract` is what a variant promises for CMOs (§4.4): `mainline` C2, `rfc` C3, and the
 * two review alternatives' own promises (§4.3 items 4-5). C1, C4 and "a read-only memslot
 * is never mapped writable, its memory never written" (C2) hold under every contract.
 */
const IPA_BASE = 0x4000_0000;
const RW_SLOT = IPA_BASE;
const RO_SLOT = IPA_BASE + PAGE;
const NO_SLOT = IPA_BASE + 2 * PAGE;
/** The cache line the program touches in each page. */
const LINE = 0x40;
/** Stage 1 maps the kernel's linear map: VA = VA_BASE + IPA (the FAR C3 checks). */
const VA_BASE = 0xffff_0000_0000;
const S2_TABLE = 0x100_0000;

const SLOTS: readonly Memslot[] = [
  { name: 'guest RAM', base: RW_SLOT, pages: 1, readonly: false },
  { name: 'flash (KVM_MEM_READONLY)', base: RO_SLOT, pages: 1, readonly: true },
];
const TARGET: Readonly<Record<SlotKind, number>> = {
  absent: NO_SLOT + LINE,
  rw: RW_SLOT + LINE,
  ro: RO_SLOT + LINE,
};
/** A NISV exit stops the vCPU, so the read-only page comes last. */
const ORDER: readonly SlotKind[] = ['absent', 'rw', 'ro'];

function program(op: GuestOp, slot: string): Instruction[] {
  const kinds = slot === 'all' ? ORDER : ORDER.filter((k) => k === slot);
  return kinds.map((k) => ({ op, ipa: TARGET[k], va: VA_BASE + TARGET[k] }));
}

function hex(n: number): string {
  return '0x' + n.toString(16);
}

const NAMES: Readonly<Record<GuestOp, string>> = {
  ivac: 'DC IVAC',
  civac: 'DC CIVAC',
  load: 'LDR',
  store: 'STR',
};
const FSC_NAMES: Readonly<Record<number, string>> = { [FSC_FAULT]: 'translation', [FSC_PERM]: 'permission' };

function describe(vcpu: string, r: InstructionRecord): string {
  const faults = r.faults.map((f) => FSC_NAMES[f] ?? hex(f)).join(', ') || 'no';
  const far = r.far === undefined ? '' : ` (FAR ${hex(r.far)})`;
  const slot = {
    absent: 'outside every memslot',
    ro: 'in the read-only memslot',
    rw: 'in the read-write memslot',
  };
  return `${vcpu}: ${NAMES[r.op]} at IPA ${hex(r.ipa)} ${slot[r.slot]}: ${faults} fault(s), then ${r.outcome}${far}, PC += ${r.pcDelta}`;
}

const vcpus = (view: WorldView) => view.actorNames.filter((n) => n.startsWith('vcpu'));

/** The first finished CMO of any vCPU, in the given slot, that `bad` rejects. */
function firstBadCmo(
  view: WorldView,
  slot: SlotKind,
  bad: (r: InstructionRecord) => string | undefined,
): string | undefined {
  for (const v of vcpus(view)) {
    for (const r of view.context<VcpuContext>(v).log) {
      if (!isCmo(r.op) || r.slot !== slot) continue;
      const why = bad(r);
      if (why) return `${describe(v, r)}: ${why}`;
    }
  }
  return undefined;
}

const seq = (faults: readonly number[]) => faults.join(',');
const T = String(FSC_FAULT);
const P = String(FSC_PERM);
const TP = `${T},${P}`;

/**
 * C3 on a read-write slot (also as-civac's, which shares the RFC's mechanism): the CMO
 * completes; a translation fault maps it read-only and the permission fault of IVAC then
 * upgrades it to writable, each at most once.
 */
function rwCmoUnderRfc(r: InstructionRecord): string | undefined {
  if (r.outcome !== 'done') return 'C3 wants it to complete on a read-write slot';
  if (!['', T, P, TP].includes(seq(r.faults)))
    return 'C3 allows at most a translation then a permission fault';
  return undefined;
}

/** C3 for DC CIVAC on a read-only slot: at most one translation fault, a read-only mapping, then success. */
function roCivacUnderRfc(r: InstructionRecord): string | undefined {
  if (!['', T].includes(seq(r.faults)) || r.outcome !== 'done' || r.pcDelta !== 4)
    return 'C3 wants one translation fault, a read-only mapping, then successful re-execution';
  return undefined;
}

export default defineScenario({
  name: 'cmo-ro-memslot',
  seed: '001',
  description:
    'KVM arm64 CMOs (DC IVAC, DC CIVAC) on absent, read-only and read-write memslots: two vCPUs fault on the same pages, stage-2 entries in host memory under the mmu lock; `mainline` is the merged behaviour (NISV exit), the others are the RFC of seed 001 and its review alternatives',
  params: {
    slot: {
      default: 'all',
      values: ['all', 'absent', 'ro', 'rw'],
      description: 'which pages the program touches: all three (absent, read-write, read-only) or one',
    },
    vcpu0: {
      default: 'ivac',
      values: ['ivac', 'civac', 'load', 'store'],
      description: "vcpu0's instruction",
    },
    vcpu1: {
      default: 'civac',
      values: ['ivac', 'civac', 'load', 'store', 'none'],
      description: "vcpu1's instruction (none: one vCPU)",
    },
    nisv: { default: true, description: 'the VMM enabled KVM_CAP_ARM_NISV_TO_USER' },
    contract: {
      default: 'mainline',
      values: ['mainline', 'rfc', 'as-civac', 'skip-on-ro'],
      description: 'what CMOs on a read-only memslot must end in (§4.4 C2, C3, or a review alternative)',
    },
  },
  memory: () => [
    { name: 'guest RAM (rw memslot)', base: RW_SLOT, pages: 1, type: 'ram' },
    // The memory behind the read-only memslot: only the memslot flag makes it read-only.
    { name: 'flash (ro memslot)', base: RO_SLOT, pages: 1, type: 'ram', init: () => 0xff },
    { name: 'kvm stage-2 table', base: S2_TABLE, pages: 1, type: 'ram' },
  ],
  locks: () => ({ mmu_lock: 'spinlock' }),
  actors: (p) => {
    const vcpu = (id: string, op: GuestOp) => ({
      machine: arm64Vcpu,
      input: {
        id,
        program: program(op, p.slot),
        slots: SLOTS,
        s2Table: S2_TABLE,
        ipaBase: IPA_BASE,
        mmuLock: 'mmu_lock',
        vmm: 'vmm',
        nisvToUser: p.nisv,
      },
    });
    return {
      vcpu0: vcpu('vcpu0', p.vcpu0 as GuestOp),
      ...(p.vcpu1 === 'none' ? {} : { vcpu1: vcpu('vcpu1', p.vcpu1 as GuestOp) }),
      vmm: { machine: arm64Vmm },
    };
  },
  invariants: {
    // C1: outside every memslot, no exit, no exception, PC += 4.
    'C1-cmo-outside-memslots-skipped': {
      kind: 'local',
      check: (view) =>
        firstBadCmo(view, 'absent', (r) =>
          r.outcome === 'skipped' && r.pcDelta === 4
            ? undefined
            : 'C1 wants it skipped (PC += 4), no exit, no exception',
        ),
    },
    // C2, every contract: no writable stage-2 entry for the read-only slot, its memory never written.
    'C2-no-writable-mapping-on-ro': {
      kind: 'local',
      check(view) {
        const s = view.lastStep;
        const a = s?.access;
        if (!s || !a || a.kind === 'read') return;
        const roPte = S2_TABLE + 8 * ((RO_SLOT - IPA_BASE) / PAGE);
        if (a.addr === roPte) {
          const pte = leToNumber(view.peek(roPte, 8));
          if (isWritable(pte))
            return `${s.actor} mapped the read-only memslot ${describePte(pte)} at stage 2 (${s.what})`;
        }
        if (a.addr < RO_SLOT + PAGE && a.addr + a.width > RO_SLOT)
          return `${s.actor} wrote the read-only memslot's memory (${s.what})`;
      },
    },
    // C2, the mainline contract: a trapping CMO on a read-only slot reaches userspace.
    'C2-ro-cmo-reaches-userspace': {
      kind: 'local',
      check(view, p) {
        if (p.contract !== 'mainline') return;
        const want = p.nisv ? 'nisv' : '-ENOSYS';
        const bad = firstBadCmo(view, 'ro', (r) => {
          if (r.faults.length === 0 || (r.outcome === want && r.pcDelta === 0)) return undefined;
          return `C2 wants ${p.nisv ? 'a KVM_EXIT_ARM_NISV exit' : '-ENOSYS from KVM_RUN'}, not ${r.outcome === 'skipped' ? 'a skip: the guest cache maintenance silently not performed' : r.outcome}`;
        });
        if (bad) return bad;
        for (const e of view.context<VmmContext>('vmm').exits) {
          if (e.reason !== KVM_EXIT_ARM_NISV) continue;
          const iss = e.esrIss ?? 0;
          if ((iss & ~NISV_ISS_MASK) !== 0 || (iss & (ESR_CM | ESR_WNR)) !== (ESR_CM | ESR_WNR))
            return `C2: ${e.vcpu}'s NISV exit reports esr_iss ${hex(iss)}, not masked to CM | WnR | FSC with CM and WnR set`;
          if (e.ipa !== TARGET.ro)
            return `C2: ${e.vcpu}'s NISV exit reports fault_ipa ${hex(e.ipa)}, not ${hex(TARGET.ro)}`;
        }
      },
    },
    // C3, the RFC contract (§4.4).
    'C3-rfc-ro-cmo': {
      kind: 'local',
      check(view, p) {
        if (p.contract !== 'rfc') return;
        return (
          firstBadCmo(view, 'ro', (r) => {
            if (r.op === 'civac') return roCivacUnderRfc(r);
            if (![TP, P].includes(seq(r.faults)) || r.outcome !== 'dabt' || r.far !== r.va)
              return `C3 wants a translation fault, a permission fault, then an injected data abort with FAR = the VA ${hex(r.va)}`;
            return undefined;
          }) ?? firstBadCmo(view, 'rw', rwCmoUnderRfc)
        );
      },
    },
    // as-civac (§4.3 items 4-5): IVAC on read-only memory is performed as CIVAC: both complete.
    'as-civac-ro-cmo-completes': {
      kind: 'local',
      check(view, p) {
        if (p.contract !== 'as-civac') return;
        return (
          firstBadCmo(view, 'ro', (r) => {
            if (r.op === 'civac') return roCivacUnderRfc(r);
            if (![TP, P].includes(seq(r.faults)) || r.outcome !== 'civac-emulated' || r.pcDelta !== 4)
              return 'as-civac wants its permission fault performed as DC CIVAC by KVM (PC += 4), no exception';
            return undefined;
          }) ?? firstBadCmo(view, 'rw', rwCmoUnderRfc)
        );
      },
    },
    // skip-on-ro (§4.3 item 5): a trapping CMO on a read-only slot is skipped, IVAC and CIVAC alike.
    'skip-on-ro-ro-cmo-skipped': {
      kind: 'local',
      check(view, p) {
        if (p.contract !== 'skip-on-ro') return;
        return firstBadCmo(view, 'ro', (r) =>
          r.faults.length === 0 || (r.outcome === 'skipped' && r.pcDelta === 4 && r.faults.length === 1)
            ? undefined
            : 'skip-on-ro wants one fault, then a skip (PC += 4), no exit, no exception',
        );
      },
    },
    // C4: a CMO is never handled as decodable MMIO (ISV=0).
    'C4-cmo-never-decodable-mmio': {
      kind: 'local',
      check(view) {
        for (const slot of ORDER) {
          const bad = firstBadCmo(view, slot, (r) =>
            r.outcome === 'mmio' ? 'C4: a CMO was emulated as decodable MMIO (KVM_EXIT_MMIO)' : undefined,
          );
          if (bad) return bad;
        }
        for (const e of view.context<VmmContext>('vmm').exits)
          if (((e.esrIss ?? 0) & ESR_ISV) !== 0) return `C4: ${e.vcpu}'s NISV exit claims a valid syndrome`;
      },
    },
  },
  defaultVariant: 'mainline',
  variants: {
    mainline: {
      description:
        'mainline (merged, §4.2): no-memslot CMOs skipped; on the read-only slot IVAC and CIVAC take the no-syndrome path, KVM_EXIT_ARM_NISV to the VMM; on the read-write slot a write fault maps the page writable',
      expect: 'pass',
    },
    'rfc-inject-dabt': {
      description:
        'the RFC of seed 001 (§4.3 item 4): CMO translation faults map read-only; CIVAC then works, IVAC faults again (permission) and gets a data abort at FAR = VA',
      expect: 'pass',
      params: { contract: 'rfc' },
      provide: {
        'arm64-vcpu': {
          actions: {
            handleGuestAbort: rfcHandleGuestAbort,
            userMemAbortWriteFault: cmoTranslationFaultIsRead,
          },
        },
      },
    },
    'as-civac': {
      description:
        "review alternative (Marc's note, §4.3 items 4-5): as the RFC, but IVAC's permission fault on read-only memory is performed as DC CIVAC and skipped; keeps C1, C4 and no writable mapping, and its promise that IVAC and CIVAC both complete: pass",
      expect: 'pass',
      params: { contract: 'as-civac' },
      provide: {
        'arm64-vcpu': {
          actions: {
            handleGuestAbort: asCivacHandleGuestAbort,
            userMemAbortWriteFault: cmoTranslationFaultIsRead,
          },
        },
      },
    },
    'skip-on-ro': {
      description:
        'review alternative (Alexandru Elisei, §4.3 item 5): skip CMOs on read-only memslots, IVAC and CIVAC alike; keeps C1, C4, no writable mapping and its own promise: pass (the same code as 2016-skip-all, judged by the contract it proposes)',
      expect: 'pass',
      params: { contract: 'skip-on-ro' },
      provide: { 'arm64-vcpu': { actions: { handleGuestAbort: skipCmoHandleGuestAbort } } },
    },
    '2016-skip-all': {
      description:
        'the 2016 skip (§4.3 item 1) judged by the mainline contract: every CMO in the error branch is skipped, read-only memslots included, so a CMO on the read-only slot never reaches userspace: C2 (C2-ro-cmo-reaches-userspace)',
      expect: 'bug',
      provide: { 'arm64-vcpu': { actions: { handleGuestAbort: skipCmoHandleGuestAbort } } },
    },
  },
});
