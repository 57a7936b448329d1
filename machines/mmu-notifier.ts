import { enqueueActions, setup } from 'xstate';
import { acquire, type DoneEvent, type OperationEvent, release, write } from '../src/index.ts';
import { GPC_VALID_OFS, type GpcRef } from './gpc.ts';

/**
 * An MMU-notifier invalidation over the guest pages behind the runstate area
 * (LNX:virt/kvm/pfncache.c `gfn_to_pfn_cache_invalidate_start`, domain-facts §2.3 "GPC
 * semantics"): for each cache it takes the **write** lock, clears `valid` and unlocks,
 * one cache at a time. Nothing in KVM holds two GPC locks but the runstate writer, which
 * takes gpc1 then gpc2.
 *
 * `invalidate` is what the `inverted-lock-order` variant swaps: a path that takes gpc2
 * and then gpc1, both exclusive, against the writer's gpc1 → gpc2 (§2.7 R4).
 */
export interface NotifierInput {
  /** The caches whose pages the invalidated range covers, in the order it visits them. */
  readonly gpcs: readonly GpcRef[];
}

export const mmuNotifierSetup = setup({
  types: {
    context: {} as NotifierInput,
    input: {} as NotifierInput,
    events: {} as DoneEvent,
    emitted: {} as OperationEvent,
  },
  actions: {
    invalidate: enqueueActions(({ context, enqueue }) => {
      for (const g of context.gpcs) {
        enqueue(acquire(g.lock, 'exclusive'));
        enqueue(write(g.addr + GPC_VALID_OFS, [0], `${g.lock}.valid=0`));
        enqueue(release(g.lock));
      }
    }),
  },
});

/** Both caches locked at once, gpc2 first: the inversion of the writer's order. */
export const invalidateNestedGpc2First = mmuNotifierSetup.enqueueActions(({ context, enqueue }) => {
  const order = [...context.gpcs].reverse();
  for (const g of order) enqueue(acquire(g.lock, 'exclusive'));
  for (const g of order) enqueue(write(g.addr + GPC_VALID_OFS, [0], `${g.lock}.valid=0`));
  for (const g of [...order].reverse()) enqueue(release(g.lock));
});

export const mmuNotifier = mmuNotifierSetup.createMachine({
  id: 'mmu-notifier',
  context: ({ input }) => input,
  initial: 'invalidating',
  states: {
    invalidating: { entry: 'invalidate', on: { 'ops.done': 'done' } },
    done: { type: 'final' },
  },
});
