import { assign, enqueueActions, setup } from 'xstate';
import { type DoneEvent, leToBigInt, type OperationEvent, read, resultBytes } from '../src/index.ts';
import { areaSize, type DecodedRunstate, decodeRunstate, type Layout, timesOfs } from './runstate-layout.ts';

/**
 * The Linux guest's reader, `xen_get_runstate_snapshot_cpu_delta` (LNX:drivers/xen/time.c,
 * domain-facts §2.5), reading another vCPU's runstate area for steal time:
 *
 *   do { t = state_entry_time; rmb; copy the struct; rmb; }
 *   while (state_entry_time != t || (t & XEN_RUNSTATE_UPDATE));
 *
 * A 32-bit guest (the compat layout) reads the 64-bit field with `get64`: hi, lo, hi,
 * again until both his agree. Every read of the area is `racy` for the race detector: a
 * seqlock read side, validated by the second read of state_entry_time (R5). The reader
 * tries `attempts` times and then gives up without a snapshot.
 */
export interface ReaderInput {
  readonly layout: Layout;
  readonly gpa: number;
  readonly attempts: number;
}

export interface ReaderContext extends ReaderInput {
  readonly tries: number;
  readonly t1: bigint;
  /** The snapshots it accepted (the invariants judge them). */
  readonly accepted: readonly DecodedRunstate[];
}

const UPDATE = 1n << 63n;

const entryAddr = (c: ReaderInput) => c.gpa + timesOfs(c.layout);

/** The two halves of get64 agree: hi, lo, hi. */
const get64 = (event: DoneEvent, p: string): bigint | undefined => {
  const hi = leToBigInt(resultBytes(event, `${p}.hi`));
  const hi2 = leToBigInt(resultBytes(event, `${p}.hi2`));
  if (hi !== hi2) return undefined;
  return (hi << 32n) | leToBigInt(resultBytes(event, `${p}.lo`));
};

export const runstateReaderSetup = setup({
  types: {
    context: {} as ReaderContext,
    input: {} as ReaderInput,
    events: {} as DoneEvent,
    emitted: {} as OperationEvent,
  },
  actions: {
    // 64-bit guest: t, the copy and t again, in program order (rmb between them).
    snapshot64: enqueueActions(({ context, enqueue }) => {
      enqueue.assign({ tries: context.tries + 1 });
      enqueue(read(entryAddr(context), 8, 't1', 'racy'));
      enqueue(read(context.gpa, areaSize(context.layout), 'copy', 'racy'));
      enqueue(read(entryAddr(context), 8, 't2', 'racy'));
    }),
    get64First: enqueueActions(({ context, enqueue }) => {
      enqueue.assign({ tries: context.tries + 1 });
      enqueue(read(entryAddr(context) + 4, 4, 't1.hi', 'racy'));
      enqueue(read(entryAddr(context), 4, 't1.lo', 'racy'));
      enqueue(read(entryAddr(context) + 4, 4, 't1.hi2', 'racy'));
    }),
    keepT1: assign(({ event }) => ({ t1: get64(event, 't1') ?? 0n })),
    copyThenGet64: enqueueActions(({ context, enqueue }) => {
      enqueue(read(context.gpa, areaSize(context.layout), 'copy', 'racy'));
      enqueue(read(entryAddr(context) + 4, 4, 't2.hi', 'racy'));
      enqueue(read(entryAddr(context), 4, 't2.lo', 'racy'));
      enqueue(read(entryAddr(context) + 4, 4, 't2.hi2', 'racy'));
    }),
    accept: assign(({ context, event }) => ({
      accepted: [...context.accepted, decodeRunstate(context.layout, resultBytes(event, 'copy'))],
    })),
  },
  guards: {
    compat: ({ context }) => context.layout === 'compat',
    // Accept iff two equal reads of state_entry_time without the flag bracket the copy.
    valid64: ({ event }) => {
      const t1 = leToBigInt(resultBytes(event, 't1'));
      return t1 === leToBigInt(resultBytes(event, 't2')) && (t1 & UPDATE) === 0n;
    },
    t1Read: ({ event }) => get64(event, 't1') !== undefined,
    validCompat: ({ context, event }) => {
      const t2 = get64(event, 't2');
      return t2 !== undefined && t2 === context.t1 && (context.t1 & UPDATE) === 0n;
    },
    triesLeft: ({ context }) => context.tries < context.attempts,
  },
});

export const runstateReader = runstateReaderSetup.createMachine({
  id: 'runstate-reader',
  context: ({ input }) => ({ ...input, tries: 0, t1: 0n, accepted: [] }),
  initial: 'start',
  states: {
    start: {
      always: [
        { guard: 'triesLeft', target: 'choose' },
        // Gave up: the area stayed busy for every try.
        { target: 'done' },
      ],
    },
    choose: { always: [{ guard: 'compat', target: 'get64' }, { target: 'snapshot' }] },
    snapshot: {
      entry: 'snapshot64',
      on: { 'ops.done': [{ guard: 'valid64', target: 'done', actions: 'accept' }, { target: 'start' }] },
    },
    get64: {
      entry: 'get64First',
      on: { 'ops.done': [{ guard: 't1Read', target: 'copy', actions: 'keepT1' }, { target: 'start' }] },
    },
    copy: {
      entry: 'copyThenGet64',
      on: {
        'ops.done': [{ guard: 'validCompat', target: 'done', actions: 'accept' }, { target: 'start' }],
      },
    },
    done: { type: 'final' },
  },
});
