import { assign, enqueueActions, setup } from 'xstate';
import {
  acquire,
  type DoneEvent,
  type OperationEvent,
  read,
  release,
  result,
  resultBytes,
  tryAcquire,
  write,
} from '../src/index.ts';
import { decodeGpc, encodeGpc, GPC_VALID_OFS, type GpcRef, gpcCheck, refreshFits } from './gpc.ts';
import {
  areaSize,
  encodeRunstate,
  flagOfs,
  type Layout,
  type Runstate,
  splitLengths,
  timesOfs,
  UPDATE_BIT_IN_TOP_BYTE,
} from './runstate-layout.ts';

/**
 * KVM's runstate writer for one vCPU: `kvm_xen_update_runstate` (time accounting,
 * domain-facts §2.2) and `kvm_xen_update_runstate_guest` as fixed by 5ec3289b31ab,
 * bbe17c625d and 23e60258ae (§2.3): gpc1 then gpc2, trylock-and-skip in atomic context,
 * refresh (gpc1) or activate (gpc2) and retry outside it, the update flag set and cleared
 * with single-byte stores around the data.
 *
 * The variants swap three named implementations:
 * - `splitLengths`: the fixed split into len1/len2, or the pre-fix single GPC of
 *   sizeof(64-bit struct) whatever the mode (§2.4 failure 2);
 * - `writeArea`: the fixed byte-flag protocol, or the pre-fix whole-field 64-bit flag
 *   store (§2.4 failure 1);
 * - `checksUnderLock` (guard): the fixed order (lock gpc1, then check it), or checking
 *   validity before taking the lock.
 *
 * Registration (§2.3 "Registration") is the scenario's initial memory: both GPCs active
 * and the area already written. Steal time is not modelled (run_delay stays 0).
 */
export interface RunstateUpdate {
  /** The runstate being entered. */
  readonly state: number;
  /** kvmclock at the update. */
  readonly now: number;
  /** From the preempt notifier (state runnable): may not sleep (§2.2 step 4). */
  readonly atomic: boolean;
}

export interface WriterInput {
  readonly layout: Layout;
  readonly gpa: number;
  /** The VMM enabled RUNSTATE_UPDATE_FLAG (d8ba8ba4c801). */
  readonly flag: boolean;
  readonly gpc1: GpcRef;
  readonly gpc2: GpcRef;
  readonly initial: Runstate;
  readonly updates: readonly RunstateUpdate[];
}

/** Where the writer is, for the invariants (R4). */
export type WriterPhase = 'idle' | 'locking' | 'checking' | 'refreshing' | 'writing';

export interface WriterContext extends WriterInput {
  /** vx->current_runstate, runstate_entry_time and runstate_times: authoritative. */
  readonly rs: Runstate;
  /** The update in progress. */
  readonly k: number;
  readonly atomic: boolean;
  readonly len1: number;
  readonly len2: number;
  readonly phase: WriterPhase;
  /** What each update did: `written`, `skipped (…)` or `-EINVAL (…)`. */
  readonly outcomes: readonly string[];
}

type WriterEvent = DoneEvent;

const gpcWord = (event: WriterEvent) => decodeGpc(resultBytes(event, 'gpc'));
/** The update is over: on to the next, with what it did. */
const finished = (context: WriterContext, outcome: string) => ({
  k: context.k + 1,
  phase: 'idle' as const,
  outcomes: [...context.outcomes, outcome],
});

export const runstateWriterSetup = setup({
  types: {
    context: {} as WriterContext,
    input: {} as WriterInput,
    events: {} as WriterEvent,
    emitted: {} as OperationEvent,
  },
  actions: {
    // §2.2: delta = now - entry; times[current] += delta; current = state; entry = now.
    account: assign(({ context }) => {
      const u = context.updates[context.k];
      const rs = context.rs;
      const times = [...rs.times] as [number, number, number, number];
      times[rs.state] += u.now - rs.entryTime;
      return { rs: { state: u.state, entryTime: u.now, times }, atomic: u.atomic };
    }),
    // §2.3 step 1: user_len is 48 or 44; split where the area reaches the page end.
    splitLengths: assign(({ context }) => splitLengths(context.gpa, areaSize(context.layout))),
    // §2.3 step 2: trylock in atomic context (skip on failure), read_lock otherwise.
    lockGpc1: enqueueActions(({ context, enqueue }) => {
      enqueue.assign({ phase: 'locking' });
      if (context.atomic) enqueue(tryAcquire(context.gpc1.lock, 'shared', 'got'));
      else enqueue(acquire(context.gpc1.lock, 'shared'));
    }),
    lockGpc2: enqueueActions(({ context, enqueue }) => {
      enqueue.assign({ phase: 'locking' });
      if (context.atomic) enqueue(tryAcquire(context.gpc2.lock, 'shared', 'got'));
      else enqueue(acquire(context.gpc2.lock, 'shared'));
    }),
    checkGpc1: enqueueActions(({ context, enqueue }) => {
      enqueue.assign({ phase: 'checking' });
      enqueue(read(context.gpc1.addr, 8, 'gpc'));
    }),
    checkGpc2: enqueueActions(({ context, enqueue }) => {
      enqueue.assign({ phase: 'checking' });
      enqueue(read(context.gpc2.addr, 8, 'gpc'));
    }),
    releaseGpc1: enqueueActions(({ context, enqueue }) => enqueue(release(context.gpc1.lock))),
    releaseBoth: enqueueActions(({ context, enqueue }) => {
      enqueue(release(context.gpc2.lock));
      enqueue(release(context.gpc1.lock));
    }),
    // kvm_gpc_refresh(gpc1, len1): maps the page again under the write lock.
    refreshGpc1: enqueueActions(({ context, enqueue }) => {
      enqueue.assign({ phase: 'refreshing' });
      enqueue(acquire(context.gpc1.lock, 'exclusive'));
      enqueue(write(context.gpc1.addr + GPC_VALID_OFS, [1], 'gpc1.valid=1'));
      enqueue(release(context.gpc1.lock));
    }),
    // kvm_gpc_activate(gpc2, gpa+len1, len2): activate, not refresh (§2.3 step 5.3).
    activateGpc2: enqueueActions(({ context, enqueue }) => {
      enqueue.assign({ phase: 'refreshing' });
      enqueue(acquire(context.gpc2.lock, 'exclusive'));
      enqueue(
        write(
          context.gpc2.addr,
          encodeGpc({ active: true, valid: true, gpa: context.gpa + context.len1 }),
          'gpc2=active',
        ),
      );
      enqueue(release(context.gpc2.lock));
    }),
    // §2.3 steps 6-8: flag byte set, wmb, data, wmb, flag byte clear.
    writeArea: enqueueActions(({ context, enqueue }) => {
      enqueue.assign({ phase: 'writing' });
      const { layout, gpa, rs, flag } = context;
      const flagAddr = gpa + flagOfs(layout);
      const top = Math.floor(rs.entryTime / 2 ** 56);
      if (flag) enqueue(write(flagAddr, [UPDATE_BIT_IN_TOP_BYTE | top], 'flag set', 'atomic'));
      const bytes = encodeRunstate(layout, rs, flag);
      if (context.len2 === 0) {
        // Fast path: rs_state and rs_times point into the guest page.
        const t = timesOfs(layout);
        enqueue(write(gpa, bytes.slice(0, 4), 'state'));
        enqueue(write(gpa + t, bytes.slice(t, t + 8), 'state_entry_time'));
        enqueue(write(gpa + t + 8, bytes.slice(t + 8), 'time[]'));
      } else {
        // Split path: the struct is built on the stack, then memcpy'd page by page.
        enqueue(write(gpa, bytes.slice(0, context.len1), 'page 1'));
        enqueue(write(gpa + context.len1, bytes.slice(context.len1), 'page 2'));
      }
      if (flag) enqueue(write(flagAddr, [top], 'flag clear', 'atomic'));
    }),
    noteWritten: assign(({ context }) => finished(context, 'written')),
    noteTrylockBusy: assign(({ context }) => finished(context, 'skipped (trylock busy)')),
    noteCheckFailed: assign(({ context }) => finished(context, 'skipped (check failed in atomic context)')),
    noteEinval: assign(({ context }) => finished(context, '-EINVAL (refresh: the length crosses the page)')),
  },
  guards: {
    morePending: ({ context }) => context.k < context.updates.length,
    checksUnderLock: () => true,
    atomic: ({ context }) => context.atomic,
    trylockFailed: ({ context, event }) => context.atomic && result<boolean>(event, 'got') === false,
    gpc1Valid: ({ context, event }) => gpcCheck(gpcWord(event), context.len1),
    gpc2Valid: ({ context, event }) => gpcCheck(gpcWord(event), context.len2),
    refreshFails: ({ context, event }) => !refreshFits(gpcWord(event), context.len1),
    split: ({ context }) => context.len2 > 0,
  },
});

/** The pre-fix single GPC, activated with sizeof(64-bit struct) in either mode (§2.4). */
export const singleGpcLengths = runstateWriterSetup.assign(() => ({ len1: 48, len2: 0 }));

/**
 * The pre-fix flag protocol (§2.4): a whole 64-bit store of `t | UPDATE`, wmb, state and
 * times, wmb, then `state_entry_time &= ~UPDATE`, again a 64-bit store. Where the field
 * is not naturally aligned (compat, at +4) the store is split and its halves land apart.
 */
export const wholeFieldFlagWrite = runstateWriterSetup.enqueueActions(({ context, enqueue }) => {
  enqueue.assign({ phase: 'writing' });
  const { layout, gpa, rs } = context;
  const t = timesOfs(layout);
  const flagged = encodeRunstate(layout, rs, true);
  const clear = encodeRunstate(layout, rs, false);
  enqueue(write(gpa + t, flagged.slice(t, t + 8), 'state_entry_time |= UPDATE', 'atomic'));
  enqueue(write(gpa, clear.slice(0, 4), 'state'));
  enqueue(write(gpa + t + 8, clear.slice(t + 8), 'time[]'));
  enqueue(write(gpa + t, clear.slice(t, t + 8), 'state_entry_time &= ~UPDATE', 'atomic'));
});

export const runstateWriter = runstateWriterSetup.createMachine({
  id: 'runstate-writer',
  context: ({ input }) => ({
    ...input,
    rs: input.initial,
    k: 0,
    atomic: false,
    len1: 0,
    len2: 0,
    phase: 'idle',
    outcomes: [],
  }),
  initial: 'next',
  states: {
    next: {
      always: [
        { guard: 'morePending', target: 'start', actions: ['account', 'splitLengths'] },
        { target: 'done' },
      ],
    },
    start: {
      always: [{ guard: 'checksUnderLock', target: 'lock1' }, { target: 'check1Unlocked' }],
    },
    lock1: {
      entry: 'lockGpc1',
      on: {
        'ops.done': [
          { guard: 'trylockFailed', target: 'next', actions: 'noteTrylockBusy' },
          { target: 'check1' },
        ],
      },
    },
    check1: {
      entry: 'checkGpc1',
      on: { 'ops.done': [{ guard: 'gpc1Valid', target: 'haveGpc1' }, { target: 'check1Failed' }] },
    },
    // §2.3 step 3: unlock; atomic → return; otherwise refresh, relock and check again.
    check1Failed: {
      entry: 'releaseGpc1',
      on: {
        'ops.done': [
          { guard: 'atomic', target: 'next', actions: 'noteCheckFailed' },
          { target: 'readForRefresh' },
        ],
      },
    },
    readForRefresh: {
      entry: 'checkGpc1',
      on: {
        'ops.done': [
          { guard: 'refreshFails', target: 'next', actions: 'noteEinval' },
          { target: 'refresh1' },
        ],
      },
    },
    refresh1: {
      entry: 'refreshGpc1',
      on: { 'ops.done': 'start' },
    },
    // The check-outside-lock variant: validity read before the lock is taken.
    check1Unlocked: {
      entry: 'checkGpc1',
      on: { 'ops.done': [{ guard: 'gpc1Valid', target: 'lock1Late' }, { target: 'lock1' }] },
    },
    lock1Late: {
      entry: 'lockGpc1',
      on: {
        'ops.done': [
          { guard: 'trylockFailed', target: 'next', actions: 'noteTrylockBusy' },
          { target: 'haveGpc1' },
        ],
      },
    },
    haveGpc1: {
      always: [{ guard: 'split', target: 'lock2' }, { target: 'writing' }],
    },
    // §2.3 step 5: gpc2 after gpc1, always.
    lock2: {
      entry: 'lockGpc2',
      on: {
        'ops.done': [{ guard: 'trylockFailed', target: 'trylock2Failed' }, { target: 'check2' }],
      },
    },
    trylock2Failed: {
      entry: 'releaseGpc1',
      on: { 'ops.done': { target: 'next', actions: 'noteTrylockBusy' } },
    },
    check2: {
      entry: 'checkGpc2',
      on: { 'ops.done': [{ guard: 'gpc2Valid', target: 'writing' }, { target: 'check2Failed' }] },
    },
    check2Failed: {
      entry: 'releaseBoth',
      on: {
        'ops.done': [
          { guard: 'atomic', target: 'next', actions: 'noteCheckFailed' },
          { target: 'activate2' },
        ],
      },
    },
    // Then `goto retry`: gpc1 was dropped too.
    activate2: {
      entry: 'activateGpc2',
      on: { 'ops.done': 'start' },
    },
    writing: {
      entry: 'writeArea',
      on: { 'ops.done': [{ guard: 'split', target: 'unlockBoth' }, { target: 'unlock1' }] },
    },
    // §2.3 step 9: gpc2 first, then gpc1.
    unlockBoth: {
      entry: 'releaseBoth',
      on: { 'ops.done': { target: 'next', actions: 'noteWritten' } },
    },
    unlock1: {
      entry: 'releaseGpc1',
      on: { 'ops.done': { target: 'next', actions: 'noteWritten' } },
    },
    done: { type: 'final' },
  },
});
