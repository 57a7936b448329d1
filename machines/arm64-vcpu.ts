import { assign, enqueueActions, setup } from 'xstate';
import {
  acquire,
  type DoneEvent,
  leToNumber,
  type OperationEvent,
  read,
  release,
  resultBytes,
  send,
  toLe,
  write,
} from '../src/index.ts';
import {
  type Abort,
  dataAbortEsr,
  ESR_FSC_TYPE,
  type GuestOp,
  isCmo,
  KVM_EXIT_ARM_NISV,
  KVM_EXIT_MMIO,
  nisvIss,
} from './arm64-esr.ts';
import {
  type AbortPath,
  asCivacCmo,
  type CmoInErrorBranch,
  cmoTranslationFaultAsRead,
  handleGuestAbort,
  type IoExit,
  ioMemAbortExit,
  mainlineCmo,
  mainlineUserMemAbortWrite,
  rfcCmo,
  skipCmo,
  stage2Update,
  type UserMemAbortWriteFault,
} from './kvm-arm64-abort.ts';
import { lookupSlot, type Memslot, PAGE, type SlotKind, slotKind } from './memslot.ts';
import { stage2Fault } from './stage2-pte.ts';

/**
 * An arm64 vCPU with stage-2 translation, and KVM's abort path on its exits
 * (`kvm_handle_guest_abort`, domain-facts §4.2). The guest runs a program of loads,
 * stores, DC IVAC and DC CIVAC; for each, the hardware walks stage 2 (one read of the
 * entry in the host-memory table) and either performs it (PC += 4) or takes a stage-2
 * data abort with the syndrome of §4.1. KVM then:
 * - skips the instruction (PC += 4, `return 1`);
 * - faults the page in (`user_mem_abort`: the kvm mmu lock, the stage-2 entry read and
 *   updated) and returns to the guest, which re-executes the instruction as the hardware
 *   does (PC unchanged);
 * - injects a data abort (FAR = the faulting VA, HFAR), which the guest takes: a
 *   "Synchronous External Abort" ends its program;
 * - or exits to the VMM: KVM_EXIT_MMIO (re-entered, the access completed, PC += 4) or
 *   KVM_EXIT_ARM_NISV (the VMM cannot emulate an access without syndrome and does not
 *   re-enter), or fails KVM_RUN (-ENOSYS, -EFAULT).
 *
 * Variants swap two named actions (§4.3): `handleGuestAbort` (kvm_handle_guest_abort with
 * what a CMO does in its error branch) and `userMemAbortWriteFault` (whether
 * user_mem_abort counts the abort a write).
 */
export interface Instruction {
  readonly op: GuestOp;
  /** The intermediate physical address stage 1 gives, and the virtual address itself. */
  readonly ipa: number;
  readonly va: number;
}

export interface VcpuInput {
  /** This vCPU's actor name (the VMM's exits name it). */
  readonly id: string;
  readonly program: readonly Instruction[];
  readonly slots: readonly Memslot[];
  /** Host address of the stage-2 table: one 8-byte entry per guest page from `ipaBase`. */
  readonly s2Table: number;
  readonly ipaBase: number;
  readonly mmuLock: string;
  readonly vmm: string;
  /** The VMM enabled KVM_CAP_ARM_NISV_TO_USER. */
  readonly nisvToUser: boolean;
}

/** How an instruction ended. */
export type Outcome =
  /** Performed by the hardware, PC += 4. */
  | 'done'
  /** Skipped by KVM, PC += 4. */
  | 'skipped'
  /** Performed by KVM as DC CIVAC, PC += 4 (as-civac). */
  | 'civac-emulated'
  /** Emulated by the VMM after KVM_EXIT_MMIO, PC += 4. */
  | 'mmio'
  /** KVM_EXIT_ARM_NISV to the VMM. */
  | 'nisv'
  /** KVM_RUN failed. */
  | '-ENOSYS'
  | '-EFAULT'
  /** A data abort injected into the guest. */
  | 'dabt';

export interface InstructionRecord extends Instruction {
  readonly slot: SlotKind;
  /** FSC type of every stage-2 fault it took, in order (0x04 translation, 0x0C permission). */
  readonly faults: readonly number[];
  readonly outcome: Outcome;
  /** How far PC moved. */
  readonly pcDelta: number;
  /** FAR of the injected data abort. */
  readonly far?: number;
}

export interface VcpuContext extends VcpuInput {
  readonly pc: number;
  /** The instruction in progress, and the faults it took so far. */
  readonly k: number;
  readonly faults: readonly number[];
  /** The abort being handled. */
  readonly esr: number;
  readonly path: AbortPath | undefined;
  readonly umaWrite: boolean;
  readonly log: readonly InstructionRecord[];
  /** Stage-2 faults taken by DC IVAC (the RFC's double fault, §4.3 item 4 "Cost"). */
  readonly ivacFaults: number;
}

/** The exit a vCPU reports to the VMM (struct kvm_run, the fields used). */
export interface ExitEvent {
  readonly type: 'exit';
  readonly vcpu: string;
  readonly reason: number;
  /** KVM_EXIT_ARM_NISV: `esr_iss` and `fault_ipa`. KVM_EXIT_MMIO: `phys_addr`, `is_write`. */
  readonly ipa: number;
  readonly esrIss?: number;
  readonly isWrite?: boolean;
}

/** The VMM re-enters the vCPU (KVM_RUN again). */
export interface RunEvent {
  readonly type: 'run';
}

type VcpuEvent = DoneEvent | RunEvent;

export const START_PC = 0x8_0000;
const PC_STEP = 4;

const insn = (c: VcpuContext): Instruction => c.program[c.k];
const abortOf = (c: VcpuContext): Abort => ({ esr: c.esr, iabt: false });
const slotOf = (c: VcpuContext) => lookupSlot(c.slots, insn(c).ipa);
const pteAddr = (c: VcpuContext) => c.s2Table + 8 * Math.floor((insn(c).ipa - c.ipaBase) / PAGE);
const pteOf = (event: VcpuEvent) => leToNumber(resultBytes(event as DoneEvent, 'pte'));

/** The instruction is over: log it, move PC, on to the next. */
function retire(c: VcpuContext, outcome: Outcome, pcDelta: number, far?: number) {
  const i = insn(c);
  const rec: InstructionRecord = {
    ...i,
    slot: slotKind(c.slots, i.ipa),
    faults: c.faults,
    outcome,
    pcDelta,
    ...(far === undefined ? {} : { far }),
  };
  return { log: [...c.log, rec], pc: c.pc + pcDelta, k: c.k + 1, faults: [], path: undefined };
}

/** kvm_handle_guest_abort (§4.2) with a CMO policy: where the abort goes (`path`). */
const abortAction = (policy: CmoInErrorBranch) =>
  assign<VcpuContext, VcpuEvent, undefined, VcpuEvent, never>(({ context }) => ({
    path: handleGuestAbort(abortOf(context), slotOf(context), policy),
  }));

const umaAction = (policy: UserMemAbortWriteFault) =>
  assign<VcpuContext, VcpuEvent, undefined, VcpuEvent, never>(({ context }) => ({
    umaWrite: policy(abortOf(context)),
  }));

const exitIs = (c: VcpuContext, e: IoExit) => ioMemAbortExit(c.esr, c.nisvToUser) === e;

export const arm64VcpuSetup = setup({
  types: {
    context: {} as VcpuContext,
    input: {} as VcpuInput,
    events: {} as VcpuEvent,
    emitted: {} as OperationEvent,
  },
  actions: {
    // The hardware's stage-2 walk: one read of the last-level entry.
    walk: read(({ context }) => pteAddr(context), 8, 'pte', 'atomic'),
    // A stage-2 data abort with the syndrome of §4.1 (CMOs: ISV=0, CM=1, WnR=1).
    takeAbort: assign(({ context, event }) => {
      const i = insn(context);
      const fsc = stage2Fault(pteOf(event), i.op) ?? 0;
      return {
        esr: dataAbortEsr(i.op, fsc),
        faults: [...context.faults, fsc & ESR_FSC_TYPE],
        ivacFaults: context.ivacFaults + (i.op === 'ivac' ? 1 : 0),
      };
    }),
    // §4.2 steps 1-3, mainline: a CMO in the error branch is skipped only with no memslot.
    handleGuestAbort: abortAction(mainlineCmo),
    // `write_fault` in user_mem_abort (swapped by variants, §4.3 item 4).
    userMemAbortWriteFault: umaAction(mainlineUserMemAbortWrite),
    // A load or store the stage-2 mapping allows.
    access: enqueueActions(({ context, enqueue }) => {
      const i = insn(context);
      if (i.op === 'load') enqueue(read(i.ipa, 8, 'data'));
      else enqueue(write(i.ipa, toLe(context.k + 1, 8), 'store'));
    }),
    retireDone: assign(({ context }) => retire(context, 'done', PC_STEP)),
    retireSkipped: assign(({ context }) => retire(context, 'skipped', PC_STEP)),
    retireCivac: assign(({ context }) => retire(context, 'civac-emulated', PC_STEP)),
    retireMmio: assign(({ context }) => retire(context, 'mmio', PC_STEP)),
    retireNisv: assign(({ context }) => retire(context, 'nisv', 0)),
    retireEnosys: assign(({ context }) => retire(context, '-ENOSYS', 0)),
    retireEfault: assign(({ context }) => retire(context, '-EFAULT', 0)),
    // kvm_inject_dabt(vcpu, kvm_vcpu_get_hfar(vcpu)): FAR is the faulting VA.
    retireDabt: assign(({ context }) => retire(context, 'dabt', 0, insn(context).va)),
    // io_mem_abort with a valid syndrome: KVM_EXIT_MMIO.
    exitMmio: send(
      ({ context }) => context.vmm,
      ({ context }): ExitEvent => {
        const i = insn(context);
        return {
          type: 'exit',
          vcpu: context.id,
          reason: KVM_EXIT_MMIO,
          ipa: i.ipa,
          isWrite: i.op === 'store',
        };
      },
    ),
    // KVM_EXIT_ARM_NISV: esr_iss masked to CM | WnR | FSC, fault_ipa (§4.1).
    exitNisv: send(
      ({ context }) => context.vmm,
      ({ context }): ExitEvent => ({
        type: 'exit',
        vcpu: context.id,
        reason: KVM_EXIT_ARM_NISV,
        ipa: insn(context).ipa,
        esrIss: nisvIss(context.esr),
      }),
    ),
    // user_mem_abort: the stage-2 update happens under kvm->mmu_lock (a spinlock on arm64
    // when the RFC was posted, 5.11).
    lockAndReadPte: enqueueActions(({ context, enqueue }) => {
      enqueue(acquire(context.mmuLock));
      enqueue(read(pteAddr(context), 8, 'pte', 'atomic'));
    }),
    updatePteAndUnlock: enqueueActions(({ context, event, enqueue }) => {
      const old = pteOf(event);
      const pte = stage2Update(old, context.esr, context.umaWrite, slotOf(context).writable);
      if (pte !== old) enqueue(write(pteAddr(context), toLe(pte, 8), 's2 pte', 'atomic'));
      enqueue(release(context.mmuLock));
    }),
  },
  guards: {
    more: ({ context }) => context.k < context.program.length,
    stage2Allows: ({ context, event }) => stage2Fault(pteOf(event), insn(context).op) === undefined,
    isCmo: ({ context }) => isCmo(insn(context).op),
    toSkip: ({ context }) => context.path === 'skip',
    toCivac: ({ context }) => context.path === 'civac-and-skip',
    toDabt: ({ context }) => context.path === 'inject-dabt',
    toIo: ({ context }) => context.path === 'io-mem-abort',
    toAccessFlag: ({ context }) => context.path === 'access-flag',
    exitsMmio: ({ context }) => exitIs(context, 'mmio'),
    exitsNisv: ({ context }) => exitIs(context, 'nisv'),
    // __gfn_to_pfn_memslot with write_fault on a read-only slot: KVM_PFN_ERR_RO_FAULT → -EFAULT.
    userMemAbortFails: ({ context }) => context.umaWrite && !slotOf(context).writable,
  },
});

/** The RFC of seed 001 (§4.3 item 4): inject a data abort for DC IVAC on a read-only slot. */
export const rfcHandleGuestAbort = abortAction(rfcCmo);
/** Marc's alternative (§4.3 items 4-5): perform DC IVAC on a read-only slot as DC CIVAC. */
export const asCivacHandleGuestAbort = abortAction(asCivacCmo);
/** Skip every CMO in the error branch (2016, and the skip-on-ro review proposal, §4.3). */
export const skipCmoHandleGuestAbort = abortAction(skipCmo);
/** The RFC's user_mem_abort: a translation fault with CM=1 is a read (§4.3 item 4). */
export const cmoTranslationFaultIsRead = umaAction(cmoTranslationFaultAsRead);

export const arm64Vcpu = arm64VcpuSetup.createMachine({
  id: 'arm64-vcpu',
  context: ({ input }) => ({
    ...input,
    pc: START_PC,
    k: 0,
    faults: [],
    esr: 0,
    path: undefined,
    umaWrite: false,
    log: [],
    ivacFaults: 0,
  }),
  initial: 'fetch',
  states: {
    fetch: { always: [{ guard: 'more', target: 'walk' }, { target: 'done' }] },
    walk: {
      entry: 'walk',
      on: {
        'ops.done': [
          { guard: 'stage2Allows', target: 'executing' },
          { target: 'abort', actions: ['takeAbort', 'handleGuestAbort'] },
        ],
      },
    },
    executing: {
      always: [{ guard: 'isCmo', target: 'fetch', actions: 'retireDone' }, { target: 'accessing' }],
    },
    accessing: { entry: 'access', on: { 'ops.done': { target: 'fetch', actions: 'retireDone' } } },
    // kvm_handle_guest_abort (§4.2): `path` is where the abort goes.
    abort: {
      always: [
        { guard: 'toSkip', target: 'fetch', actions: 'retireSkipped' },
        { guard: 'toCivac', target: 'fetch', actions: 'retireCivac' },
        { guard: 'toDabt', target: 'exception', actions: 'retireDabt' },
        { guard: 'toIo', target: 'ioMemAbort' },
        // Handled in place: the guest re-executes.
        { guard: 'toAccessFlag', target: 'fetch' },
        { target: 'userMemAbort', actions: 'userMemAbortWriteFault' },
      ],
    },
    ioMemAbort: {
      always: [
        { guard: 'exitsMmio', target: 'mmioExit' },
        { guard: 'exitsNisv', target: 'nisvExit' },
        { target: 'failed', actions: 'retireEnosys' },
      ],
    },
    mmioExit: { entry: 'exitMmio', on: { 'ops.done': 'inVmm' } },
    // KVM_RUN again: kvm_handle_mmio_return completes the access and moves PC.
    inVmm: { on: { run: { target: 'fetch', actions: 'retireMmio' } } },
    nisvExit: { entry: 'exitNisv', on: { 'ops.done': { target: 'exited', actions: 'retireNisv' } } },
    userMemAbort: {
      always: [
        { guard: 'userMemAbortFails', target: 'failed', actions: 'retireEfault' },
        { target: 'mapping' },
      ],
    },
    mapping: { entry: 'lockAndReadPte', on: { 'ops.done': 'mapped' } },
    // Return 1: back to the guest, which re-executes the instruction.
    mapped: { entry: 'updatePteAndUnlock', on: { 'ops.done': 'fetch' } },
    done: { type: 'final' },
    /** KVM_RUN returned to the VMM, which does not enter again. */
    exited: { type: 'final' },
    /** KVM_RUN failed. */
    failed: { type: 'final' },
    /** The guest took the injected data abort. */
    exception: { type: 'final' },
  },
});
