import { assign, setup } from 'xstate';
import { type DoneEvent, type OperationEvent, send } from '../src/index.ts';
import type { BuildPhase, PhaseDoneEvent, RunEvent } from './dom0-build-order.ts';

/**
 * `dom0_construct_pvh` (XEN:xen/arch/x86/hvm/dom0_build.c) runs the build steps in the
 * order of domain-facts §5.1, one at a time. The steps that map the low MiB are actors: the
 * builder sends `run` and waits for `phase.done`. Any failure makes construct_dom0 fail,
 * and setup.c panics with "Could not construct domain 0" (state `panicked`).
 */
export interface BuilderInput {
  /** The build steps, in order (BUILD_ORDER). */
  readonly order: readonly BuildPhase[];
  /** The actor that runs each delegated step. */
  readonly actors: Readonly<Partial<Record<BuildPhase, string>>>;
}

export interface BuildFailure {
  readonly phase: BuildPhase;
  readonly rc: number;
  readonly detail: string | undefined;
}

export interface BuilderContext extends BuilderInput {
  readonly k: number;
  /** The step running now, or undefined between steps. */
  readonly phase: BuildPhase | undefined;
  readonly completed: readonly BuildPhase[];
  readonly failure: BuildFailure | undefined;
}

type BuilderEvent = PhaseDoneEvent | DoneEvent;

const step = (context: BuilderContext) => context.order[context.k];

export const dom0BuilderSetup = setup({
  types: {
    context: {} as BuilderContext,
    input: {} as BuilderInput,
    events: {} as BuilderEvent,
    emitted: {} as OperationEvent,
  },
  actions: {
    begin: assign(({ context }) => ({ phase: step(context) })),
    runPhase: send(({ context }) => context.actors[step(context)] ?? '', { type: 'run' } satisfies RunEvent),
    complete: assign(({ context }) => ({
      k: context.k + 1,
      phase: undefined,
      completed: [...context.completed, step(context)],
    })),
    noteFailure: assign(({ context, event }) => {
      const e = event as PhaseDoneEvent;
      return { failure: { phase: step(context), rc: e.rc, detail: e.detail } };
    }),
  },
  guards: {
    finished: ({ context }) => context.k >= context.order.length,
    delegated: ({ context }) => context.actors[step(context)] !== undefined,
    succeeded: ({ event }) => (event as PhaseDoneEvent).rc === 0,
  },
});

export const dom0Builder = dom0BuilderSetup.createMachine({
  id: 'dom0-builder',
  context: ({ input }) => ({ ...input, k: 0, phase: undefined, completed: [], failure: undefined }),
  initial: 'next',
  states: {
    next: {
      always: [
        { guard: 'finished', target: 'built' },
        { guard: 'delegated', target: 'running', actions: 'begin' },
        { target: 'local', actions: 'begin' },
      ],
    },
    // pvh_init_p2m, pvh_load_kernel, pvh_setup_cpus: no effect on the low-MiB p2m here.
    local: { always: { target: 'next', actions: 'complete' } },
    running: { entry: 'runPhase', on: { 'ops.done': 'waiting' } },
    waiting: {
      on: {
        'phase.done': [
          { guard: 'succeeded', target: 'next', actions: 'complete' },
          { target: 'panicked', actions: 'noteFailure' },
        ],
      },
    },
    // panic("Could not construct domain 0").
    panicked: { type: 'final' },
    built: { type: 'final' },
  },
});
