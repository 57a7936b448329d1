import { assign, enqueueActions, setup } from 'xstate';
import { assert, type DoneEvent, type OperationEvent, send, toLe, write } from '../src/index.ts';
import {
  bitmapBytes,
  ENTRY_MFN,
  ENTRY_RO_ELEMS,
  ENTRY_STRIDE,
  type SubpageEntry,
  type SubpageRange,
  subpageMmioRoAdd,
} from './subpage-ro-registration.ts';

/**
 * Xen's boot CPU: the sub-page registrations (the XHCI DbC console's, §3.1), then the
 * creation of the domain whose vCPUs then run (a `start` message to each). Each
 * `subpage_mmio_ro_add` (§3.2) runs the pure registration and writes what changed into
 * the host-memory list: a new entry's mfn, and the ro_elems words it set bits in. A debug
 * build fires the ASSERTs (misalignment, overlap) as assertions; a release build returns
 * -EINVAL for misalignment and sets overlapping bits silently (S5 catches that).
 *
 * `late` registrations run after the domain exists. Later versions refuse them with
 * -EILSEQ once past SYS_STATE_smp_boot (§3.2 step 1, `refusesAfterBoot`); the original
 * code was __init only and had no such check, which the S5 tests swap in.
 */
export interface Registration {
  readonly start: number;
  readonly size: number;
}

export interface BootInput {
  /** Host address of the list's first entry slot. */
  readonly listBase: number;
  readonly ranges: readonly Registration[];
  /** Registrations attempted after the domain was created (none in the bundled variants). */
  readonly late: readonly Registration[];
  readonly build: 'debug' | 'release';
  /** The vCPUs to start once the domain exists. */
  readonly vcpus: readonly string[];
}

export interface RegistrationRecord extends Registration {
  readonly rc: number;
  /** The sub-page ranges it added (none when it failed). */
  readonly subpages: readonly SubpageRange[];
  /** It ran after the domain was created. */
  readonly afterDomain: boolean;
}

export interface BootContext extends BootInput {
  readonly entries: readonly SubpageEntry[];
  /** Entry slots in host memory, by mfn, in the order they were created. */
  readonly slots: readonly number[];
  /** Every registration made, in order, once its stores are done (S5 judges them). */
  readonly history: readonly RegistrationRecord[];
  /** The registration in progress. */
  readonly pending: RegistrationRecord | undefined;
  readonly k: number;
  readonly dom0: boolean;
  /** The registration queued operations (a release-build -EINVAL queues none). */
  readonly queued: boolean;
}

const EILSEQ = -84;

const current = (c: BootContext): Registration | undefined =>
  c.dom0 ? c.late[c.k - c.ranges.length] : c.ranges[c.k];

export const subpageRoBootSetup = setup({
  types: {
    context: {} as BootContext,
    input: {} as BootInput,
    events: {} as DoneEvent,
    emitted: {} as OperationEvent,
  },
  actions: {
    register: enqueueActions(({ context, enqueue }) => {
      const r = current(context)!;
      const res = subpageMmioRoAdd(context.entries, r.start, r.size);
      if (res.assertion && context.build === 'debug')
        enqueue(
          assert(
            false,
            `${res.assertion} (subpage_mmio_ro_add(0x${r.start.toString(16)}, 0x${r.size.toString(16)}))`,
          ),
        );
      if (res.rc !== 0) {
        const asserts = !!res.assertion && context.build === 'debug';
        enqueue.assign({
          k: context.k + 1,
          pending: { ...r, rc: res.rc, subpages: [], afterDomain: context.dom0 },
          queued: asserts,
        });
        return;
      }
      const slots = [...context.slots];
      for (const s of res.subpages) if (!slots.includes(s.mfn)) slots.push(s.mfn);
      enqueue.assign({
        entries: res.entries,
        slots,
        k: context.k + 1,
        pending: { ...r, rc: 0, subpages: res.subpages, afterDomain: context.dom0 },
        queued: true,
      });
      for (const s of res.subpages) {
        const base = context.listBase + slots.indexOf(s.mfn) * ENTRY_STRIDE;
        if (!context.slots.includes(s.mfn)) enqueue(write(base + ENTRY_MFN, toLe(s.mfn, 8), 'entry.mfn'));
        const before = bitmapBytes(context.entries.find((e) => e.mfn === s.mfn)?.roQwords ?? []);
        const after = bitmapBytes(res.entries.find((e) => e.mfn === s.mfn)!.roQwords);
        // One store per unsigned long of ro_elems the range changes.
        for (let w = 0; w < after.length; w += 8) {
          const word = after.slice(w, w + 8);
          if (word.join() !== before.slice(w, w + 8).join())
            enqueue(write(base + ENTRY_RO_ELEMS + w, word, `ro_elems[${w / 8}]`));
        }
      }
    }),
    commit: assign(({ context }) => ({
      history: context.pending ? [...context.history, context.pending] : context.history,
      pending: undefined,
    })),
    refuse: assign(({ context }) => ({
      k: context.k + 1,
      history: [...context.history, { ...current(context)!, rc: EILSEQ, subpages: [], afterDomain: true }],
    })),
    // The domain exists from here on: its vCPUs start.
    createDomain: enqueueActions(({ context, enqueue }) => {
      enqueue.assign({ dom0: true });
      for (const v of context.vcpus) enqueue(send(v, { type: 'start' }));
    }),
  },
  guards: {
    bootPending: ({ context }) => !context.dom0 && context.k < context.ranges.length,
    latePending: ({ context }) => context.dom0 && context.k < context.ranges.length + context.late.length,
    // §3.2 step 1 (later versions): refuse after SYS_STATE_smp_boot with -EILSEQ.
    refusesAfterBoot: () => true,
    nothingQueued: ({ context }) => !context.queued,
  },
});

export const subpageRoBoot = subpageRoBootSetup.createMachine({
  id: 'subpage-ro-boot',
  context: ({ input }) => ({
    ...input,
    entries: [],
    slots: [],
    history: [],
    pending: undefined,
    k: 0,
    dom0: false,
    queued: false,
  }),
  initial: 'next',
  states: {
    next: {
      always: [{ guard: 'bootPending', target: 'registering' }, { target: 'creatingDomain' }],
    },
    registering: {
      entry: 'register',
      always: { guard: 'nothingQueued', target: 'next', actions: 'commit' },
      on: { 'ops.done': { target: 'next', actions: 'commit' } },
    },
    creatingDomain: { entry: 'createDomain', on: { 'ops.done': 'late' } },
    late: {
      always: [{ guard: 'latePending', target: 'lateRegistering' }, { target: 'done' }],
    },
    lateRegistering: {
      always: [{ guard: 'refusesAfterBoot', target: 'late', actions: 'refuse' }, { target: 'lateWriting' }],
    },
    lateWriting: {
      entry: 'register',
      always: { guard: 'nothingQueued', target: 'late', actions: 'commit' },
      on: { 'ops.done': { target: 'late', actions: 'commit' } },
    },
    done: { type: 'final' },
  },
});
