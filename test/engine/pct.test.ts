/**
 * PCT against its definition and against brute force: deterministic per (seed, index),
 * depth 1 never preempts, depth 2 finds a bug that needs one preemption about as often as
 * the paper's bound 1/(n·k^(d−1)) promises, and every schedule it makes is a real one.
 */
import { describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { assert, choose, type OperationEvent, read, write } from '../../src/actions/index.ts';
import { runExecution } from '../../src/explore/run-execution.ts';
import type { Bytes, DoneEvent } from '../../src/model/operation.ts';
import type { ScenarioInstance } from '../../src/scenario/instance.ts';
import { PctStrategy } from '../../src/strategies/pct.ts';
import { allSchedules, oneShot, scenarioInstance } from '../fixtures/engine.ts';

/** Runs execution `index` of PctStrategy(seed, depth) on a fresh strategy. */
function runPct(inst: ScenarioInstance, seed: number, index: number, depth: number, maxSteps?: number) {
  const s = new PctStrategy(seed, depth, { maxSteps });
  s.begin(index);
  return runExecution(inst, s, index);
}

const schedule = (moves: readonly string[]) => moves.join(' ');

/** Actors each doing `n` writes to their own byte: every step is independent. */
const independent = (names: readonly string[], n: number) =>
  scenarioInstance({
    actors: Object.fromEntries(
      names.map((a, i) => [
        a,
        {
          machine: oneShot(
            Array.from({ length: n }, () => write(0x1000 + i, [1])),
            a,
          ),
        },
      ]),
    ),
  });

const X = 0x1000;

/** b reads x, then (its own step) asserts it did not read 1. */
const checker = setup({
  types: { context: {} as { seen: number }, events: {} as DoneEvent, emitted: {} as OperationEvent },
  actions: {
    check: assert(
      ({ context }) => context.seen !== 1,
      ({ context }) => `b read x = ${context.seen}`,
    ),
  },
}).createMachine({
  id: 'b',
  context: { seen: 0 },
  initial: 'reading',
  states: {
    reading: {
      entry: read(X, 1, 'x'),
      on: {
        'ops.done': {
          target: 'checking',
          actions: assign({ seen: ({ event }) => (event.results.x as { bytes: Bytes }).bytes[0] }),
        },
      },
    },
    checking: { entry: 'check', on: { 'ops.done': 'done' } },
    done: { type: 'final' },
  },
});

/**
 * a sets x to 1 and back to 0 in two steps; b fails only when its read falls between them:
 * one preemption of a after its first step, so a bug of depth 2 (a before b's read, b's
 * read before a's second write).
 */
const depthTwo = () =>
  scenarioInstance({
    actors: {
      a: { machine: oneShot([write(X, [1]), write(X, [0])], 'a') },
      b: { machine: checker },
    },
  });

describe('PCT', () => {
  it('rejects a depth or a step bound below 1', () => {
    expect(() => new PctStrategy(1, 0)).toThrow(RangeError);
    expect(() => new PctStrategy(1, 2, { maxSteps: 0 })).toThrow(RangeError);
  });

  it('gives the same schedule for the same (seed, index), alone or after others, and varies with the index', () => {
    const inst = () => independent(['a', 'b', 'c'], 3);
    const shared = new PctStrategy(7, 3, { maxSteps: 9 });
    const viaShared: string[] = [];
    for (let i = 0; i < 40; i++) {
      shared.begin(i);
      viaShared.push(schedule(runExecution(inst(), shared, i).moves));
    }
    for (let i = 0; i < 40; i++) {
      expect(schedule(runPct(inst(), 7, i, 3, 9).moves)).toBe(viaShared[i]);
    }
    // Run backwards, execution 39 alone is still the same.
    expect(schedule(runPct(inst(), 7, 39, 3, 9).moves)).toBe(viaShared[39]);
    expect(new Set(viaShared).size).toBeGreaterThan(5);
    // Another seed gives another sequence of schedules.
    const other = Array.from({ length: 40 }, (_, i) => schedule(runPct(inst(), 8, i, 3, 9).moves));
    expect(other).not.toEqual(viaShared);
  });

  it('at depth 1 runs each actor to completion: 2 actors × 3 steps give exactly 2 schedules', () => {
    const seen = new Set<string>();
    for (let seed = 0; seed < 20; seed++) {
      for (let i = 0; i < 10; i++) seen.add(schedule(runPct(independent(['a', 'b'], 3), seed, i, 1).moves));
    }
    expect([...seen].sort()).toEqual(['a a a b b b', 'b b b a a a']);
  });

  it('at depth 1 draws the actor order uniformly: all 3! orders, each about 1/6 of the time', () => {
    const counts = new Map<string, number>();
    const runs = 600;
    for (let i = 0; i < runs; i++) {
      const s = schedule(runPct(independent(['a', 'b', 'c'], 2), 3, i, 1).moves);
      counts.set(s, (counts.get(s) ?? 0) + 1);
    }
    expect(counts.size).toBe(6);
    for (const [s, c] of counts) {
      expect(s).toMatch(/^(\w) \1 (\w) \2 (\w) \3$/);
      expect(c).toBeGreaterThan(runs / 12);
      expect(c).toBeLessThan(runs / 4);
    }
  });

  describe('a bug of depth 2', () => {
    const brute = allSchedules(depthTwo());
    // k: the length of a first execution (a depth-1 run never hits the bug, so runs to the end).
    const k = runPct(depthTwo(), 0, 0, 1).steps;
    const firstBug = (seed: number, depth: number, limit: number) => {
      for (let i = 0; i < limit; i++) if (runPct(depthTwo(), seed, i, depth, k).bug) return i;
      return undefined;
    };

    it('exists: brute force finds it in 2 of the 6 schedules, each with b reading between a0 and a1', () => {
      expect(k).toBe(4);
      expect(brute.length).toBe(6);
      const bugs = brute.filter((r) => r.bug).map((r) => schedule(r.moves));
      expect(bugs.sort()).toEqual(['a b a b', 'a b b']);
      expect(brute.find((r) => r.bug)?.bug?.message).toContain('b read x = 1');
    });

    it('depth 2 finds it within 200 executions for every seed; depth 1 never does', () => {
      for (let seed = 1; seed <= 8; seed++) {
        expect(firstBug(seed, 2, 200), `seed ${seed}`).toBeDefined();
        expect(firstBug(seed, 1, 200), `seed ${seed}`).toBeUndefined();
      }
    });

    it('depth 2 hits it at the rate of the bound 1/(n·k^(d−1)) = 1/8, which is tight here', () => {
      // a must outrank b (1/2) and the one change point must fall on step 1 (1/k).
      const bound = 1 / (2 * k ** (2 - 1));
      const runs = 4000;
      let hits = 0;
      for (let i = 0; i < runs; i++) if (runPct(depthTwo(), 11, i, 2, k).bug) hits++;
      expect(hits / runs).toBeGreaterThan(0.8 * bound);
      expect(hits / runs).toBeLessThan(1.2 * bound);
    });
  });

  describe('with a choose', () => {
    /** a chooses one of three values, then writes; b writes twice: 3 × C(4, 2) = 18 schedules. */
    const chooser = () =>
      scenarioInstance({
        actors: {
          a: { machine: oneShot([choose('c', [1, 2, 3]), write(0x1000, [1])], 'a') },
          b: { machine: oneShot([write(0x1001, [1]), write(0x1001, [2])], 'b') },
        },
      });
    const real = new Set(allSchedules(chooser()).map((r) => schedule(r.moves)));

    it('only ever produces real schedules, at every depth, and reaches all 18 at depth 3', () => {
      expect(real.size).toBe(18);
      for (const depth of [1, 2, 3]) {
        const seen = new Set<string>();
        for (let i = 0; i < 1500; i++) seen.add(schedule(runPct(chooser(), depth, i, depth, 4).moves));
        for (const s of seen) expect(real.has(s), s).toBe(true);
        if (depth === 3) expect(seen).toEqual(real);
      }
    });

    it('picks among one actor’s several moves with the PRNG: every option of the choose at depth 1', () => {
      const options = new Set<string>();
      for (let i = 0; i < 60; i++)
        options.add(runPct(chooser(), 5, i, 1).moves.find((m) => m.startsWith('a#'))!);
      expect([...options].sort()).toEqual(['a#0', 'a#1', 'a#2']);
    });
  });
});
