import { assign, setup } from 'xstate';
import {
  acquire,
  now,
  type OperationEvent,
  read,
  release,
  send,
  tryAcquire,
  write,
} from '../../src/actions/index.ts';
import type { CheckerOptions } from '../../src/checkers/settings.ts';
import type { DoneEvent } from '../../src/model/operation.ts';
import { resultBytes } from '../../src/model/results.ts';
import type { LockKind } from '../../src/runtime/locks.ts';
import { type ActorSpec, defineScenario, type SeqlockSpec } from '../../src/scenario/define-scenario.ts';
import { instantiate, type ScenarioInstance } from '../../src/scenario/instance.ts';
import { afterMessage, chooser } from '../fixtures/choice-machines.ts';
import { type Op, oneShot, type Results, TWO_RAM_PAGES } from '../fixtures/engine.ts';

/**
 * Small programs with a positive (bug) and a negative (no bug) case for every checker
 * (src/checkers/), each small enough for `allSchedules` to enumerate.
 */
export const X = 0x1000;
export const DATA = 0x1100;
export const FLAG = 0x1108;
/** An 8-byte flag across the cache line at 0x1040: split into 4 + 4 bytes. */
export const SPLIT_FLAG = 0x103c;
export const SEQ_FLAG = 0x1200;
export const SEQ_DATA = 0x1208;

export interface Program {
  readonly name: string;
  /** What every interleaving's verdict is among ('pass' when some run has no bug). */
  readonly kinds: readonly string[];
  /**
   * The verdict of exhaustive checking when it differs from every single interleaving's:
   * a lock-order inversion whose paths only meet in the graph across executions.
   */
  readonly across?: string;
  readonly make: (checkers?: CheckerOptions) => ScenarioInstance;
}

interface Spec {
  readonly actors: Readonly<Record<string, ActorSpec>>;
  readonly locks?: Readonly<Record<string, LockKind>>;
  readonly seqlocks?: readonly SeqlockSpec[];
  readonly hotSteps?: number;
}

function program(name: string, kinds: readonly string[], spec: () => Spec, across?: string): Program {
  return {
    name,
    kinds,
    ...(across ? { across } : {}),
    make: (checkers) => {
      const s = spec();
      const scenario = defineScenario({
        name,
        description: `checker test ${name}`,
        memory: () => TWO_RAM_PAGES,
        locks: () => s.locks ?? {},
        seqlocks: () => s.seqlocks ?? [],
        actors: () => s.actors,
        bounds: s.hotSteps === undefined ? undefined : { hotSteps: s.hotSteps },
        variants: { main: { description: 'the only variant' } },
      });
      return instantiate(scenario, 'main', {}, checkers);
    },
  };
}

const one = (id: string, ops: Op[]) => ({ machine: oneShot(ops, id) });
const bytes8 = [1, 2, 3, 4, 5, 6, 7, 8];

/** Reads a flag (with `sync`), and the data only if the flag is set. */
function flagReader(id: string, flag: number, width: number, data: number) {
  return setup({
    types: { context: {} as Results, events: {} as DoneEvent, emitted: {} as OperationEvent },
  }).createMachine({
    id,
    context: {},
    initial: 'flag',
    states: {
      flag: {
        entry: read(flag, width, 'f', 'atomic'),
        on: {
          'ops.done': [
            { guard: ({ event }) => resultBytes(event, 'f').some((b) => b !== 0), target: 'data' },
            { target: 'end' },
          ],
        },
      },
      data: { entry: read(data, 8, 'd'), on: { 'ops.done': 'end' } },
      end: { type: 'final' },
    },
  });
}

/** Spins `rounds` times in a state tagged hot, one step per round, then leaves. */
function spinner(id: string, rounds: number) {
  return setup({
    types: { context: {} as { n: number }, events: {} as DoneEvent, emitted: {} as OperationEvent },
  }).createMachine({
    id,
    context: { n: 0 },
    initial: 'retry',
    states: {
      retry: {
        tags: ['hot'],
        entry: now('t'),
        on: {
          'ops.done': [
            {
              guard: ({ context }) => context.n + 1 < rounds,
              target: 'retry',
              reenter: true,
              actions: assign({ n: ({ context }) => context.n + 1 }),
            },
            { target: 'done' },
          ],
        },
      },
      done: { type: 'final' },
    },
  });
}

const seqlock: SeqlockSpec = {
  name: 'area',
  flag: { addr: SEQ_FLAG, mask: 0x80 },
  data: { addr: SEQ_DATA, len: 8 },
};

/** The seqlock's reader: a racy copy of the data, then the flag (atomic), as a validation. */
const seqReader = one('seq-reader', [read(SEQ_DATA, 8, 'copy', 'racy'), read(SEQ_FLAG, 1, 'flag', 'atomic')]);

// ---------------------------------------------------------------------------------------
// Races

export const twoWriters = program('two-writers', ['race'], () => ({
  actors: { w1: one('w1', [write(X, [1], 'x')]), w2: one('w2', [write(X, [2], 'x')]) },
}));

export const spinlocked = program('spinlocked', ['pass'], () => {
  const inc = (id: string) =>
    one(id, [acquire('L'), read(X, 4, 'n'), write(X, [1, 0, 0, 0], 'n'), release('L')]);
  return { locks: { L: 'spinlock' }, actors: { a: inc('a'), b: inc('b') } };
});

export const rwlocked = program('rwlock-reader-writer', ['pass'], () => ({
  locks: { RW: 'rwlock' },
  actors: {
    r1: one('r1', [acquire('RW', 'shared'), read(X, 4, 'x'), release('RW')]),
    r2: one('r2', [acquire('RW', 'shared'), read(X, 4, 'x'), release('RW')]),
    w: one('w', [acquire('RW', 'exclusive'), write(X, [9, 9, 9, 9], 'x'), release('RW')]),
  },
}));

/** The writer takes the rwlock shared: readers do not keep it out. */
export const rwlockSharedWriter = program('rwlock-shared-writer', ['race'], () => ({
  locks: { RW: 'rwlock' },
  actors: {
    r: one('r', [acquire('RW', 'shared'), read(X, 4, 'x'), release('RW')]),
    w: one('w', [acquire('RW', 'shared'), write(X, [9, 9, 9, 9], 'x'), release('RW')]),
  },
}));

export const messagePublish = program('message-publish', ['pass'], () => ({
  actors: {
    producer: one('producer', [write(DATA, bytes8, 'data'), send('consumer', { type: 'go' })]),
    consumer: { machine: afterMessage('consumer', [read(DATA, 8, 'data')]) },
  },
}));

export const atomicFlagPublish = program('atomic-flag-publish', ['pass'], () => ({
  actors: {
    producer: one('producer', [write(DATA, bytes8, 'data'), write(FLAG, [1], 'flag', 'atomic')]),
    consumer: { machine: flagReader('consumer', FLAG, 1, DATA) },
  },
}));

/** The same with an 8-byte `atomic` flag across a cache line: split, so plain. */
export const splitFlagPublish = program('split-flag-publish', ['race'], () => ({
  actors: {
    producer: one('producer', [write(DATA, bytes8, 'data'), write(SPLIT_FLAG, bytes8, 'flag', 'atomic')]),
    consumer: { machine: flagReader('consumer', SPLIT_FLAG, 8, DATA) },
  },
}));

export const seqlockCovered = program('seqlock-covered', ['pass'], () => ({
  seqlocks: [seqlock],
  actors: {
    writer: one('writer', [
      write(SEQ_FLAG, [0x80], 'flag', 'atomic'),
      write(SEQ_DATA, bytes8, 'data'),
      write(SEQ_FLAG, [0], 'flag', 'atomic'),
    ]),
    reader: seqReader,
  },
}));

/** The data is written before the flag is raised. */
export const seqlockUncovered = program('seqlock-uncovered', ['race'], () => ({
  seqlocks: [seqlock],
  actors: {
    writer: one('writer', [
      write(SEQ_DATA, bytes8, 'data'),
      write(SEQ_FLAG, [0x80], 'flag', 'atomic'),
      write(SEQ_FLAG, [0], 'flag', 'atomic'),
    ]),
    reader: seqReader,
  },
}));

// ---------------------------------------------------------------------------------------
// Lock order and deadlock

const takes = (id: string, first: string, second: string, mode: 'exclusive' | 'shared' = 'exclusive') =>
  one(id, [acquire(first, mode), acquire(second, mode), release(second), release(first)]);

/** A B by one actor, B A by the other: some interleavings deadlock, the others invert. */
export const abba = program('abba', ['lock-order', 'deadlock'], () => ({
  locks: { A: 'spinlock', B: 'spinlock' },
  actors: { a: takes('a', 'A', 'B'), b: takes('b', 'B', 'A') },
}));

/** ABBA whose paths a message orders: it never deadlocks, and lockdep still reports it. */
export const abbaOrdered = program('abba-ordered', ['lock-order'], () => ({
  locks: { A: 'spinlock', B: 'spinlock' },
  actors: {
    a: one('a', [acquire('A'), acquire('B'), release('B'), release('A'), send('b', { type: 'go' })]),
    b: { machine: afterMessage('b', [acquire('B'), acquire('A'), release('A'), release('B')]) },
  },
}));

export const consistentOrder = program('consistent-order', ['pass'], () => ({
  locks: { A: 'spinlock', B: 'spinlock' },
  actors: { a: takes('a', 'A', 'B'), b: takes('b', 'A', 'B') },
}));

export const sharedCycle = program('shared-shared-cycle', ['pass'], () => ({
  locks: { R1: 'rwlock', R2: 'rwlock' },
  actors: { a: takes('a', 'R1', 'R2', 'shared'), b: takes('b', 'R2', 'R1', 'shared') },
}));

/** b takes A with a trylock while holding B, and backs off when it is busy. */
export const trylockInversion = program('trylock-inversion', ['pass'], () => ({
  locks: { A: 'spinlock', B: 'spinlock' },
  actors: {
    a: takes('a', 'A', 'B'),
    b: { machine: tryTaker('b') },
  },
}));

function tryTaker(id: string) {
  return setup({
    types: { context: {} as Results, events: {} as DoneEvent, emitted: {} as OperationEvent },
  }).createMachine({
    id,
    context: {},
    initial: 'take',
    states: {
      take: {
        entry: [acquire('B'), tryAcquire('A', 'exclusive', 'got')],
        on: {
          'ops.done': [
            { guard: ({ event }) => event.results.got === true, target: 'both' },
            { target: 'back-off' },
          ],
        },
      },
      both: { entry: [release('A'), release('B')], on: { 'ops.done': 'end' } },
      'back-off': { entry: release('B'), on: { 'ops.done': 'end' } },
      end: { type: 'final' },
    },
  });
}

/** A gate lock G around both paths: the inversion cannot block. */
export const gatedInversion = program('gated-inversion', ['pass'], () => ({
  locks: { G: 'spinlock', A: 'spinlock', B: 'spinlock' },
  actors: {
    a: one('a', [acquire('G'), acquire('A'), acquire('B'), release('B'), release('A'), release('G')]),
    b: one('b', [acquire('G'), acquire('B'), acquire('A'), release('A'), release('B'), release('G')]),
  },
}));

const AB: Op[] = [acquire('A'), acquire('B'), release('B'), release('A')];
const BA: Op[] = [acquire('B'), acquire('A'), release('A'), release('B')];

/**
 * ABBA whose two paths never run in one execution: a either takes A then B itself or has
 * b take B then A. Lockdep's graph outlives each path, and so does the checker's.
 */
export const abbaChosen = program(
  'abba-chosen',
  ['pass'],
  () => ({
    locks: { A: 'spinlock', B: 'spinlock' },
    actors: { a: { machine: chooser('a', AB, 'b') }, b: { machine: afterMessage('b', BA) } },
  }),
  'lock-order',
);

export const consistentChosen = program('consistent-chosen', ['pass'], () => ({
  locks: { A: 'spinlock', B: 'spinlock' },
  actors: { a: { machine: chooser('a', AB, 'b') }, b: { machine: afterMessage('b', AB) } },
}));

/** The chosen ABBA behind a gate lock G: no cross-execution report either. */
export const gatedChosen = program('gated-chosen', ['pass'], () => ({
  locks: { G: 'spinlock', A: 'spinlock', B: 'spinlock' },
  actors: {
    a: { machine: chooser('a', [acquire('G'), ...AB, release('G')], 'b') },
    b: { machine: afterMessage('b', [acquire('G'), ...BA, release('G')]) },
  },
}));

/**
 * A three-lock cycle no execution completes: a takes A then B; b takes B then C, or has c
 * take C then A.
 */
export const threeCycleChosen = program(
  'three-cycle-chosen',
  ['pass'],
  () => ({
    locks: { A: 'spinlock', B: 'spinlock', C: 'spinlock' },
    actors: {
      a: one('a', AB),
      b: { machine: chooser('b', [acquire('B'), acquire('C'), release('C'), release('B')], 'c') },
      c: { machine: afterMessage('c', [acquire('C'), acquire('A'), release('A'), release('C')]) },
    },
  }),
  'lock-order',
);

/** Three actors, three locks, each takes its own then the next one's. */
export const threeCycle = program('three-cycle', ['lock-order', 'deadlock'], () => ({
  locks: { A: 'spinlock', B: 'spinlock', C: 'spinlock' },
  actors: { a: takes('a', 'A', 'B'), b: takes('b', 'B', 'C'), c: takes('c', 'C', 'A') },
}));

/** The holder finishes without releasing: a wait with no cycle. */
export const orphanedLock = program('orphaned-lock', ['deadlock', 'pass'], () => ({
  locks: { L: 'spinlock' },
  actors: { holder: one('holder', [acquire('L')]), waiter: one('waiter', [acquire('L'), release('L')]) },
}));

// ---------------------------------------------------------------------------------------
// Liveness

export const spinsTooLong = program('spins-too-long', ['liveness'], () => ({
  hotSteps: 5,
  actors: { spinner: { machine: spinner('spinner', 7) } },
}));

export const leavesInTime = program('leaves-in-time', ['pass'], () => ({
  hotSteps: 5,
  actors: { spinner: { machine: spinner('spinner', 6) }, other: one('other', [write(X, [1])]) },
}));

export const ALL: readonly Program[] = [
  twoWriters,
  spinlocked,
  rwlocked,
  rwlockSharedWriter,
  messagePublish,
  atomicFlagPublish,
  splitFlagPublish,
  seqlockCovered,
  seqlockUncovered,
  abba,
  abbaOrdered,
  consistentOrder,
  sharedCycle,
  trylockInversion,
  gatedInversion,
  threeCycle,
  abbaChosen,
  consistentChosen,
  gatedChosen,
  threeCycleChosen,
  orphanedLock,
  spinsTooLong,
  leavesInTime,
];
