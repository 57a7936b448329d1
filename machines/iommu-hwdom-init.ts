import { assign, enqueueActions, setup } from 'xstate';
import { type DoneEvent, type OperationEvent, read, resultBytes, send, write } from '../src/index.ts';
import type { PhaseDoneEvent, PhaseInput, RunEvent } from './dom0-build-order.ts';
import { E820_RESERVED, MB1_PAGES, pagesOf } from './e820.ts';
import {
  callerCode,
  decodeEntry,
  encodeEntry,
  entryAddr,
  type P2mCall,
  type P2mOutcome,
  setIdentityP2mEntry,
} from './p2m.ts';

/**
 * `arch_iommu_hwdom_init` for a PVH (translated) Dom0 (XEN:xen/drivers/passthrough/x86/
 * iommu.c): identity-maps every PFN `hwdom_iommu_map()` allows with
 * `set_identity_p2m_entry`. For PVH that is the E820 reserved regions (dom0-iommu=
 * map-reserved, the default; domain-facts §5.3 and Roger Pau Monné's note in §5.4).
 *
 * Old flow: from PFN 0, so the reserved regions below 1 MiB get identity entries first
 * (§5.3). 6b4f6a31ac: from PFN 256 for a translated domain, leaving the first MiB to
 * pvh_populate_p2m (§5.4 item 1); the guard `startsAt1MiB` says which.
 *
 * The function is void: a failed mapping is a warning, never a build failure.
 */
export interface IommuContext extends PhaseInput {
  readonly pfns: readonly number[];
  readonly k: number;
  /** The last set_identity_p2m_entry, for the invariants. */
  readonly call: P2mCall | undefined;
  readonly outcome: P2mOutcome | undefined;
  readonly warnings: readonly string[];
}

type IommuEvent = RunEvent | DoneEvent;

const reservedFrom = (context: IommuContext, first: number) =>
  pagesOf(context.e820, E820_RESERVED).filter((pfn) => pfn >= first);

export const iommuHwdomInitSetup = setup({
  types: {
    context: {} as IommuContext,
    input: {} as PhaseInput,
    events: {} as IommuEvent,
    emitted: {} as OperationEvent,
  },
  actions: {
    // §5.4 item 1: `i = paging_mode_translate(d) ? PFN_DOWN(MB(1)) : 0`.
    planFrom1MiB: assign(({ context }) => ({ pfns: reservedFrom(context, MB1_PAGES) })),
    // §5.3: before 6b4f6a31ac the loop starts at PFN 0.
    planFromZero: assign(({ context }) => ({ pfns: reservedFrom(context, 0) })),
    readEntry: read(({ context }) => entryAddr(context.mem.p2m, context.pfns[context.k]), 8, 'entry'),
    // §5.2 rows 5-7.
    setIdentity: assign(({ context, event }) => {
      const gfn = context.pfns[context.k];
      const before = decodeEntry(resultBytes(event, 'entry'));
      const outcome = setIdentityP2mEntry(before, { gfn, owner: callerCode('iommu') });
      const call: P2mCall = {
        fn: 'set_identity_p2m_entry',
        caller: 'iommu',
        gfn,
        before,
        rc: outcome.rc,
        crash: outcome.crash,
        wrote: outcome.write !== undefined,
      };
      const warnings = outcome.log ? [...context.warnings, outcome.log] : context.warnings;
      return { call, outcome, warnings };
    }),
    writeEntry: enqueueActions(({ context, enqueue }) => {
      const e = context.outcome?.write;
      if (e)
        enqueue(write(entryAddr(context.mem.p2m, context.pfns[context.k]), encodeEntry(e), 'p2m_set_entry'));
    }),
    advance: assign(({ context }) => ({ k: context.k + 1 })),
    reply: send(({ context }) => context.builder, {
      type: 'phase.done',
      phase: 'iommu_hwdom_init',
      rc: 0,
    } satisfies PhaseDoneEvent),
  },
  guards: {
    startsAt1MiB: ({ context }) => context.flow === 'map-once',
    more: ({ context }) => context.k < context.pfns.length,
    writes: ({ context }) => context.outcome?.write !== undefined,
  },
});

export const iommuHwdomInit = iommuHwdomInitSetup.createMachine({
  id: 'iommu-hwdom-init',
  context: ({ input }) => ({ ...input, pfns: [], k: 0, call: undefined, outcome: undefined, warnings: [] }),
  initial: 'idle',
  states: {
    idle: {
      tags: ['idle'],
      on: {
        run: [
          { guard: 'startsAt1MiB', target: 'next', actions: 'planFrom1MiB' },
          { target: 'next', actions: 'planFromZero' },
        ],
      },
    },
    next: { always: [{ guard: 'more', target: 'lookup' }, { target: 'replying' }] },
    lookup: {
      entry: 'readEntry',
      on: { 'ops.done': { target: 'decided', actions: 'setIdentity' } },
    },
    decided: {
      always: [
        { guard: 'writes', target: 'update' },
        { target: 'next', actions: 'advance' },
      ],
    },
    update: { entry: 'writeEntry', on: { 'ops.done': { target: 'next', actions: 'advance' } } },
    replying: { entry: 'reply', on: { 'ops.done': 'done' } },
    done: { type: 'final' },
  },
});
