import { assign, enqueueActions, setup } from 'xstate';
import {
  type AccessResult,
  assert,
  type DoneEvent,
  leToNumber,
  type OperationEvent,
  read,
  send,
  toLe,
  write,
} from '../src/index.ts';
import {
  type Build,
  type Latch,
  type PassOutcome,
  type PieceLog,
  type RamAnswer,
  runPass,
} from './emulation-pass.ts';
import {
  type EvtchnEvent,
  IOREQ_OFF,
  IOREQ_TYPE_COPY,
  type IoReq,
  portOf,
  STATE_IOREQ_NONE,
  STATE_IOREQ_READY,
  STATE_IORESP_READY,
  STATE_NAMES,
  slotBase,
  stateByte,
  stateOf,
} from './ioreq.ts';
import { type CacheEntry, type CachePolicy, fixedPolicy } from './mmio-cache.ts';
import type { Instruction } from './x86-instruction.ts';

/**
 * An x86 HVM vCPU emulating MMIO instructions in Xen: the vCPU side of the synchronous
 * ioreq protocol (domain-facts §1.2 steps 1, 2, 6, 7), re-emulation after each response
 * (§1.3), and the MMIO cache (§1.5) through the emulation pass of emulation-pass.ts.
 *
 * `emulatePass` is the action the scenario's variants provide: the same machine runs the
 * pre-fix, fixed or cache-less emulator.
 */
export interface VcpuInput {
  readonly id: number;
  readonly dm: string;
  readonly ioreqPage: number;
  readonly program: readonly Instruction[];
  readonly build: Build;
}

/** Model-only records the invariants read (never used by the protocol itself). */
export interface IssueLog {
  readonly insn: number;
  readonly pass: number;
  readonly operand: string;
  readonly offset: number;
  readonly entryOffset: number;
  readonly cacheSize: number;
  readonly req: IoReq;
  readonly response?: readonly number[];
}

export interface VcpuGhost {
  readonly issued: readonly IssueLog[];
  readonly pieces: readonly (PieceLog & { readonly insn: number; readonly pass: number })[];
  readonly retired: readonly {
    readonly insn: number;
    readonly mnemonic: string;
    readonly values: Readonly<Record<string, readonly number[]>>;
  }[];
}

export interface VcpuContext extends VcpuInput {
  readonly insn: number;
  readonly pass: number;
  readonly cache: readonly CacheEntry[];
  readonly latch: Latch;
  readonly answers: readonly RamAnswer[];
  readonly outcome: PassOutcome | undefined;
  /** The slot state last seen while waiting (a decrease is a "weird transition"). */
  readonly seenState: number;
  /** Why the vCPU stopped: an assertion, #GP(0) or domain_crash. */
  readonly failure: string | undefined;
  readonly ghost: VcpuGhost;
}

type VcpuEvent = EvtchnEvent | DoneEvent;

function slot(ctx: VcpuContext): number {
  return slotBase(ctx.ioreqPage, ctx.id);
}

function issue(ctx: VcpuContext): Extract<PassOutcome, { kind: 'issue' }> {
  if (ctx.outcome?.kind !== 'issue') throw new Error('no request to issue');
  return ctx.outcome;
}

function ramPiece(ctx: VcpuContext) {
  if (ctx.outcome?.kind !== 'ram') throw new Error('no RAM piece pending');
  return ctx.outcome.piece;
}

/** The `emulatePass` implementation for a cache policy. */
export function emulatePassWith(policy: CachePolicy) {
  return assign<VcpuContext, VcpuEvent, undefined, VcpuEvent, never>(({ context }) => {
    const r = runPass({
      insn: context.program[context.insn],
      cache: context.cache,
      latch: context.latch,
      answers: context.answers,
      build: context.build,
      policy,
    });
    if (r.outcome.kind === 'ram') return { outcome: r.outcome };
    const pieces = r.pieces.map((p) => ({ ...p, insn: context.insn, pass: context.pass }));
    return {
      outcome: r.outcome,
      cache: r.cache,
      latch: r.latch,
      ghost: { ...context.ghost, pieces: [...context.ghost.pieces, ...pieces] },
    };
  });
}

/** The machine's typed setup: variants and tests build their own implementations with it. */
export const hvmVcpuSetup = setup({
  types: {
    context: {} as VcpuContext,
    input: {} as VcpuInput,
    events: {} as VcpuEvent,
    emitted: {} as OperationEvent,
  },
  actions: {
    beginInstruction: assign({
      pass: 1,
      cache: [],
      answers: [],
      latch: { state: 'NONE' } as Latch,
      outcome: undefined,
    }),
    emulatePass: emulatePassWith(fixedPolicy),
    // hvm_copy_{from,to}_guest_linear for one piece: RAM, or a fault that says MMIO.
    accessRam: enqueueActions(({ context, enqueue }) => {
      const p = ramPiece(context);
      if (p.dir === 'read') enqueue(read(p.addr, p.bytes, 'ram'));
      else enqueue(write(p.addr, p.data ?? [], 'ram'));
    }),
    recordRamAnswer: assign(({ context, event }) => {
      const result = (event as DoneEvent).results.ram as AccessResult;
      return { answers: [...context.answers, { ...ramPiece(context), result }] };
    }),
    readSlotHeader: enqueueActions(({ context, enqueue }) => {
      enqueue(read(slot(context) + IOREQ_OFF.stateByte, 1, 'state'));
      enqueue(read(slot(context) + IOREQ_OFF.vpEport, 4, 'port'));
    }),
    // "device model set bad IO state / event channel": IOREQ_STATUS_UNHANDLED.
    noteBadSlot: assign(({ event }) => ({
      failure: `#GP(0) injected: device model set bad IO state (${STATE_NAMES[stateOf(slotStateOf(event))] ?? '?'}) or event channel: UNHANDLED`,
    })),
    // ioreq_send (§1.2 step 1): copy the request in with state NONE, then set READY and notify.
    writeRequest: enqueueActions(({ context, enqueue }) => {
      const { req } = issue(context);
      const base = slot(context);
      enqueue(write(base + IOREQ_OFF.addr, toLe(req.addr, 8), 'addr'));
      enqueue(write(base + IOREQ_OFF.data, [...req.data, ...new Array(8 - req.data.length).fill(0)], 'data'));
      enqueue(write(base + IOREQ_OFF.count, toLe(1, 4), 'count'));
      enqueue(write(base + IOREQ_OFF.size, toLe(req.size, 4), 'size'));
      enqueue(write(base + IOREQ_OFF.type, [IOREQ_TYPE_COPY], 'type'));
      enqueue(write(base + IOREQ_OFF.stateByte, [stateByte(STATE_IOREQ_NONE, req.dir)], 'state=NONE'));
      // prepare_wait_on_xen_event_channel is the barrier between the copy and READY.
      enqueue(write(base + IOREQ_OFF.stateByte, [stateByte(STATE_IOREQ_READY, req.dir)], 'state=READY'));
      enqueue(send(context.dm, { type: 'evtchn', port: portOf(context.id) }));
    }),
    // §1.2 step 2: unwind with RETRY, keeping the latched copy in v->io.req.
    latchRequest: assign(({ context }) => {
      const o = issue(context);
      return {
        latch: { state: 'READY', req: o.req } as Latch,
        seenState: STATE_IOREQ_READY,
        ghost: {
          ...context.ghost,
          issued: [
            ...context.ghost.issued,
            {
              insn: context.insn,
              pass: context.pass,
              operand: o.operand,
              offset: o.offset,
              entryOffset: o.entryOffset,
              cacheSize: o.cacheSize,
              req: o.req,
            },
          ],
        },
      };
    }),
    readSlotState: read(({ context }) => slot(context) + IOREQ_OFF.stateByte, 1, 'state'),
    noteSlotState: assign(({ event }) => ({ seenState: stateOf(slotStateOf(event)) })),
    // §1.2 step 7: NONE into the slot, then p->data into the latch.
    completeRequest: enqueueActions(({ context, enqueue }) => {
      const req = context.latch.req!;
      enqueue(
        write(slot(context) + IOREQ_OFF.stateByte, [stateByte(STATE_IOREQ_NONE, req.dir)], 'state=NONE'),
      );
      enqueue(read(slot(context) + IOREQ_OFF.data, 8, 'data'));
    }),
    latchResponse: assign(({ context, event }) => {
      const r = (event as DoneEvent).results.data as AccessResult;
      const req = context.latch.req!;
      const data = r.ok ? r.bytes.slice(0, req.size) : [];
      const issued = [...context.ghost.issued];
      issued[issued.length - 1] = { ...issued[issued.length - 1], response: data };
      return {
        latch: { state: 'IORESP_READY', req, data } as Latch,
        pass: context.pass + 1,
        answers: [],
        ghost: { ...context.ghost, issued },
      };
    }),
    retire: assign(({ context }) => {
      const o = context.outcome;
      const values = o?.kind === 'retire' ? o.values : {};
      const mnemonic = context.program[context.insn].mnemonic;
      return {
        insn: context.insn + 1,
        ghost: {
          ...context.ghost,
          retired: [...context.ghost.retired, { insn: context.insn, mnemonic, values }],
        },
      };
    }),
    noteFailure: assign(({ context }) => {
      const o = context.outcome;
      if (!o) return {};
      switch (o.kind) {
        case 'assert':
          return { failure: o.message };
        case 'gp':
          return { failure: `#GP(0) injected: ${o.reason}` };
        case 'crash':
          return { failure: `domain_crash: ${o.reason}` };
        case 'pagefault':
          return { failure: `#PF at 0x${o.addr.toString(16)}` };
        default:
          return {};
      }
    }),
    noteWeirdTransition: assign(({ context, event }) => ({
      failure: `domain_crash: Weird HVM ioreq state transition ${STATE_NAMES[context.seenState] ?? context.seenState} -> ${STATE_NAMES[stateOf(slotStateOf(event))] ?? stateOf(slotStateOf(event))}`,
    })),
    hypervisorAssert: assert(false, ({ context }) => context.failure ?? 'assertion'),
  },
  guards: {
    hasInstruction: ({ context }) => context.insn < context.program.length,
    outcomeIs: ({ context }, params: { kind: PassOutcome['kind'] }) => context.outcome?.kind === params.kind,
    slotUsable: ({ context, event }) => {
      const port = (event as DoneEvent).results.port as AccessResult;
      return (
        stateOf(slotStateOf(event)) === STATE_IOREQ_NONE &&
        port.ok &&
        leToNumber(port.bytes) === portOf(context.id)
      );
    },
    responseReady: ({ event }) => stateOf(slotStateOf(event)) === STATE_IORESP_READY,
    // wait_for_io: a state lower than the one seen before, or an unknown one, crashes.
    weirdTransition: ({ context, event }) => {
      const s = stateOf(slotStateOf(event));
      return s < context.seenState || s > STATE_IORESP_READY;
    },
  },
});

export const hvmVcpu = hvmVcpuSetup.createMachine({
  id: 'hvm-vcpu',
  context: ({ input }) => ({
    ...input,
    insn: 0,
    pass: 0,
    cache: [],
    latch: { state: 'NONE' },
    answers: [],
    outcome: undefined,
    seenState: STATE_IOREQ_NONE,
    failure: undefined,
    ghost: { issued: [], pieces: [], retired: [] },
  }),
  initial: 'fetch',
  states: {
    fetch: {
      always: [
        { guard: 'hasInstruction', target: 'emulating', actions: 'beginInstruction' },
        { target: 'halted' },
      ],
    },
    emulating: {
      entry: 'emulatePass',
      always: [
        { guard: { type: 'outcomeIs', params: { kind: 'ram' } }, target: 'accessingRam' },
        { guard: { type: 'outcomeIs', params: { kind: 'issue' } }, target: 'claimingSlot' },
        { guard: { type: 'outcomeIs', params: { kind: 'retire' } }, target: 'fetch', actions: 'retire' },
        {
          guard: { type: 'outcomeIs', params: { kind: 'assert' } },
          target: 'asserted',
          actions: 'noteFailure',
        },
        { target: 'failed', actions: 'noteFailure' },
      ],
    },
    accessingRam: {
      entry: 'accessRam',
      on: { 'ops.done': { target: 'emulating', actions: 'recordRamAnswer' } },
    },
    // ioreq_send (§1.2 step 1): the slot must be NONE and vp_eport the server's port.
    claimingSlot: {
      entry: 'readSlotHeader',
      on: {
        'ops.done': [
          { guard: 'slotUsable', target: 'sendingIoreq' },
          { target: 'failed', actions: 'noteBadSlot' },
        ],
      },
    },
    sendingIoreq: {
      entry: 'writeRequest',
      on: { 'ops.done': { target: 'waitingForIo', actions: 'latchRequest' } },
    },
    // Blocked in wait_on_xen_event_channel: ending here means the response never came.
    waitingForIo: {
      tags: ['hot'],
      on: { evtchn: 'checkingSlot' },
    },
    checkingSlot: {
      tags: ['hot'],
      entry: 'readSlotState',
      on: {
        'ops.done': [
          { guard: 'weirdTransition', target: 'failed', actions: 'noteWeirdTransition' },
          { guard: 'responseReady', target: 'completingIo' },
          { target: 'waitingForIo', actions: 'noteSlotState' },
        ],
      },
    },
    completingIo: {
      entry: 'completeRequest',
      on: { 'ops.done': { target: 'emulating', actions: 'latchResponse' } },
    },
    asserted: { entry: 'hypervisorAssert', type: 'final' },
    failed: { type: 'final' },
    halted: { type: 'final' },
  },
});

function slotStateOf(event: VcpuEvent): number {
  const r = (event as DoneEvent).results?.state as AccessResult | undefined;
  return r?.ok ? r.bytes[0] : 0;
}
