/**
 * Shrinking counterexamples (src/explore/shrink.ts). Each program has a bug that one
 * interleaving of two actors needs, and a third actor of independent steps to pad the
 * schedule with: a schedule found with that actor's steps all over it must shrink to one
 * that still shows the same bug, is no longer and has no more preemptions, and no longer
 * runs the padding actor at all.
 */

import { describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import mmioSplit from '../../scenarios/mmio-split.ts';
import { assert, type OperationEvent, read, write } from '../../src/actions/index.ts';
import { replayMoves } from '../../src/explore/run-execution.ts';
import { type Shrunk, sameBug, shrink } from '../../src/explore/shrink.ts';
import type { DoneEvent } from '../../src/model/operation.ts';
import { resultBytes } from '../../src/model/results.ts';
import type { Bug } from '../../src/runtime/step.ts';
import type { WorldView } from '../../src/runtime/world-view.ts';
import { defineScenario } from '../../src/scenario/define-scenario.ts';
import { instantiate, type ScenarioInstance } from '../../src/scenario/instance.ts';
import { ENGINE_CHECKERS, oneShot, runCounted, runRandom, TWO_RAM_PAGES } from '../fixtures/engine.ts';

const X = 0x1000;
const FLAG = 0x1010;
const DATA = 0x1018;
const PAD = 0x1100;

/** Eight writes to bytes nobody else touches: steps that matter to no bug. */
const padding = () =>
  oneShot(
    [...Array(8).keys()].map((i) => write(PAD + i, [i + 1], 'p')),
    'o',
  );

/** Reads X, then writes it back plus one (a non-atomic increment). */
function incrementer(id: string) {
  return setup({
    types: { context: {} as { v: number }, events: {} as DoneEvent, emitted: {} as OperationEvent },
    actions: {
      load: read(X, 1, 'v'),
      keep: assign({ v: ({ event }) => resultBytes(event, 'v')[0] }),
      store: write(X, ({ context }) => [context.v + 1], 'v'),
    },
  }).createMachine({
    id,
    context: { v: 0 },
    initial: 'load',
    states: {
      load: { entry: 'load', on: { 'ops.done': { target: 'store', actions: 'keep' } } },
      store: { entry: 'store', on: { 'ops.done': 'end' } },
      end: { type: 'final' },
    },
  });
}

/** Reads the flag, then the data, then asserts that a set flag came with its data. */
const reader = setup({
  types: { context: {} as { f: number; d: number }, events: {} as DoneEvent, emitted: {} as OperationEvent },
  actions: {
    readFlag: read(FLAG, 1, 'f'),
    readData: read(DATA, 1, 'd'),
    keep: assign({
      f: ({ event }) => resultBytes(event, 'f')[0],
      d: ({ event }) => resultBytes(event, 'd')[0],
    }),
    check: assert(({ context }) => !(context.f === 1 && context.d === 0), 'saw the flag without the data'),
  },
}).createMachine({
  id: 'r',
  context: { f: 0, d: 0 },
  initial: 'load',
  states: {
    load: { entry: ['readFlag', 'readData'], on: { 'ops.done': { target: 'check', actions: 'keep' } } },
    check: { entry: 'check', on: { 'ops.done': 'end' } },
    end: { type: 'final' },
  },
});

function make(name: string, spec: Parameters<typeof defineScenario>[0]['actors'], invariants = {}) {
  const s = defineScenario({
    name,
    description: `shrink test ${name}`,
    memory: () => TWO_RAM_PAGES,
    locks: () => ({}),
    actors: spec,
    invariants,
    variants: { main: { description: 'the only variant' } },
  });
  return instantiate(s, 'main', {}, ENGINE_CHECKERS);
}

/** Two increments and a padding actor; broken when both are done and X is not 2. */
const lostUpdate = () =>
  make(
    'shrink-lost-update',
    () => ({
      a: { machine: incrementer('a') },
      b: { machine: incrementer('b') },
      o: { machine: padding() },
    }),
    {
      'no lost update': {
        kind: 'stable' as const,
        check: (view: WorldView) =>
          view.actor('a').done && view.actor('b').done && view.peek(X, 1)[0] !== 2
            ? 'lost update'
            : undefined,
      },
    },
  );

/** A writer that publishes the flag before the data, a reader that asserts, and padding. */
const publication = () =>
  make('shrink-publication', () => ({
    w: { machine: oneShot([write(FLAG, [1], 'flag'), write(DATA, [1], 'data')], 'w') },
    r: { machine: reader },
    o: { machine: padding() },
  }));

/** Preemptions of a schedule: switching away from an actor that could still move. */
function preemptions(instance: ScenarioInstance, moves: readonly string[]): number {
  return runCounted(instance, moves).preemptions;
}

/** Runs a schedule and returns its bug, failing if it has none. */
function bugOf(instance: ScenarioInstance, moves: readonly string[]): Bug {
  const r = replayMoves(instance, moves);
  expect(r.moves).toEqual(moves);
  expect(r.bug, `schedule ${moves.join(' ')} should end at a bug`).toBeDefined();
  return r.bug!;
}

interface Figures {
  readonly steps: number;
  readonly preemptions: number;
}

interface Case {
  readonly name: string;
  readonly make: () => ScenarioInstance;
  /** A buggy schedule padded with the padding actor's steps, with many preemptions. */
  readonly padded: readonly string[];
  /** Bug-free: a schedule that does not reach the bug. */
  readonly clean: readonly string[];
  /** The fewest steps and preemptions the bug needs. */
  readonly minimal: { readonly steps: number; readonly preemptions: number };
}

const CASES: readonly Case[] = [
  {
    name: 'lost update',
    make: lostUpdate,
    padded: ['o', 'a', 'o', 'o', 'b', 'o', 'a', 'o', 'o', 'b'],
    clean: ['o', 'a', 'a', 'o', 'b', 'b', 'o', 'o', 'o', 'o', 'o', 'o'],
    minimal: { steps: 4, preemptions: 1 },
  },
  {
    name: 'flag published before the data',
    make: publication,
    padded: ['o', 'o', 'w', 'o', 'r', 'o', 'r', 'o', 'o', 'r'],
    clean: ['o', 'w', 'o', 'w', 'r', 'r', 'r', 'o', 'o', 'o', 'o', 'o', 'o'],
    minimal: { steps: 4, preemptions: 1 },
  },
];

describe.each(CASES.map((c) => [c.name, c] as const))('shrink: %s', (_name, c) => {
  let memo: { instance: ScenarioInstance; bug: Bug; original: Figures; shrunk: Shrunk } | undefined;
  /** Computed once, inside the first test that needs it. */
  const setupOnce = () => {
    if (memo) return memo;
    const instance = c.make();
    const bug = bugOf(instance, c.padded);
    const original = { steps: c.padded.length, preemptions: preemptions(instance, c.padded) };
    memo = { instance, bug, original, shrunk: shrink(instance, c.padded, bug) };
    return memo;
  };

  it('the padded schedule is a real counterexample with preemptions to remove', () => {
    const { original } = setupOnce();
    expect(original.preemptions).toBeGreaterThan(c.minimal.preemptions);
    expect(c.padded.filter((m) => m === 'o').length).toBeGreaterThan(0);
  });

  it('the shrunk schedule reproduces the same bug when replayed exactly', () => {
    const { instance, bug, shrunk } = setupOnce();
    const again = replayMoves(instance, shrunk.moves);
    expect(again.moves).toEqual(shrunk.moves);
    expect(sameBug(bug, again.bug)).toBe(true);
    expect(again.bug?.kind).toBe(bug.kind);
    expect(again.bug?.message).toBe(bug.message);
  });

  it('is shorter, has no more preemptions, and reports its real figures', () => {
    const { instance, original, shrunk } = setupOnce();
    expect(shrunk.steps).toBe(shrunk.moves.length);
    expect(shrunk.steps).toBeLessThan(original.steps);
    expect(shrunk.preemptions).toBe(preemptions(instance, shrunk.moves));
    expect(shrunk.preemptions).toBeLessThanOrEqual(original.preemptions);
  });

  it('drops every step of the actor that has nothing to do with the bug', () => {
    const { shrunk } = setupOnce();
    expect(shrunk.moves.filter((m) => m === 'o')).toEqual([]);
  });

  it('reaches the fewest steps and preemptions the bug needs on this small program', () => {
    const { shrunk } = setupOnce();
    expect({ steps: shrunk.steps, preemptions: shrunk.preemptions }).toEqual(c.minimal);
  });

  it('`before` reports the schedule as found', () => {
    const { original, shrunk } = setupOnce();
    expect(shrunk.before).toEqual(original);
    expect(shrunk.tries).toBeGreaterThan(1);
  });

  it('is deterministic: the same input, on a fresh instance, gives the same output', () => {
    const { bug, shrunk } = setupOnce();
    expect(shrink(c.make(), [...c.padded], { ...bug })).toEqual(shrunk);
  });

  it('returns a schedule whose bug does not happen unchanged', () => {
    const { instance, bug } = setupOnce();
    expect(replayMoves(instance, c.clean).bug).toBeUndefined();
    const r = shrink(instance, c.clean, bug);
    expect(r.moves).toEqual(c.clean);
    expect(r.steps).toBe(c.clean.length);
    expect(r.before.steps).toBe(c.clean.length);
    expect(r.tries).toBe(1);
  });

  it('returns the schedule unchanged when it shows another bug than the one named', () => {
    const { instance } = setupOnce();
    const other: Bug = { kind: 'invariant', invariant: 'something else', message: 'other', step: 1 };
    const r = shrink(instance, c.padded, other);
    expect(r.moves).toEqual(c.padded);
    expect(r.tries).toBe(1);
  });

  it('spends no more than maxTries executions', () => {
    const { instance, bug, original } = setupOnce();
    const one = shrink(instance, c.padded, bug, { maxTries: 1 });
    expect(one.tries).toBe(1);
    expect(one.moves).toEqual(c.padded);
    expect(one.before).toEqual(original);
    const few = shrink(instance, c.padded, bug, { maxTries: 5 });
    expect(few.tries).toBeLessThanOrEqual(5);
    expect(sameBug(bug, replayMoves(instance, few.moves).bug)).toBe(true);
  });
});

describe('shrink: a schedule already as short as it gets', () => {
  it('keeps the length and removes the preemption the bug does not need (a b a b → one preemption)', () => {
    const instance = lostUpdate();
    const moves = ['a', 'b', 'a', 'b'];
    const bug = bugOf(instance, moves);
    expect(preemptions(instance, moves)).toBe(2);
    const small = shrink(instance, moves, bug);
    expect(small.before).toEqual({ steps: 4, preemptions: 2 });
    expect(small.steps).toBe(4);
    expect(small.preemptions).toBe(1);
    expect(preemptions(instance, small.moves)).toBe(1);
    expect(sameBug(bug, replayMoves(instance, small.moves).bug)).toBe(true);
  });
});

// A schedule in which no step had a choice (one actor, or a build ordered by messages) is the
// only schedule there is: shrinking replays it once and stops, instead of spending its tries.
describe('shrink: a forced schedule', () => {
  it('replays it once and returns it unchanged', () => {
    const instance = make(
      'shrink-forced',
      () => ({
        w: { machine: oneShot([write(FLAG, [1], 'flag'), write(DATA, [1], 'data')], 'w') },
      }),
      {
        'data never set': {
          kind: 'local' as const,
          check: (view: WorldView) => (view.peek(DATA, 1)[0] === 1 ? 'data set' : undefined),
        },
      },
    );
    const moves = ['w', 'w'];
    const bug = bugOf(instance, moves);
    expect(bug.invariant).toBe('data never set');
    const r = shrink(instance, moves, bug);
    expect(r.tries).toBe(1);
    expect(r.moves).toEqual(moves);
    expect(r.before).toEqual({ steps: 2, preemptions: 0 });
  });
  it('still shrinks a schedule in which some step had a choice', () => {
    const instance = lostUpdate();
    const bug = bugOf(instance, ['a', 'b', 'a', 'b']);
    expect(shrink(instance, ['a', 'b', 'a', 'b'], bug).tries).toBeGreaterThan(1);
  });
});

describe('sameBug', () => {
  const inv: Bug = { kind: 'invariant', invariant: 'I1', message: 'x at 0x10', step: 3 };
  it('matches invariants by name, other bugs by message with the digits ignored', () => {
    expect(sameBug(inv, { ...inv, message: 'other', step: 9 })).toBe(true);
    expect(sameBug(inv, { ...inv, invariant: 'I2' })).toBe(false);
    expect(sameBug(inv, undefined)).toBe(false);
    const a: Bug = { kind: 'assertion', message: 'offset 4 + 8 > 2', step: 5 };
    expect(sameBug(a, { ...a, message: 'offset 0 + 8 > 64' })).toBe(true);
    expect(sameBug(a, { ...a, message: 'another assertion' })).toBe(false);
    expect(sameBug(a, { ...a, kind: 'deadlock' })).toBe(false);
  });
});

describe('shrink: a long random counterexample of mmio-split:pre-fix', () => {
  const instance = instantiate(mmioSplit, 'pre-fix', {});
  const found = runRandom(instance, 0, 0);

  it('shrinks to a replayable schedule of the same bug, no longer and with no more preemptions', () => {
    expect(found.bug).toBeDefined();
    const bug = found.bug!;
    const before = preemptions(instance, found.moves);
    const small = shrink(instance, found.moves, bug);
    expect(small.before).toEqual({ steps: found.moves.length, preemptions: before });
    expect(small.steps).toBeLessThan(found.moves.length);
    expect(small.preemptions).toBeLessThanOrEqual(before);
    expect(small.preemptions).toBe(preemptions(instance, small.moves));
    const again = replayMoves(instance, small.moves);
    expect(sameBug(bug, again.bug)).toBe(true);
    expect(again.steps).toBe(small.steps);
  });
});
