/**
 * The preemption-bounded search (src/strategies/preemption-bounded.ts) against brute
 * force. `allSchedules` enumerates every interleaving; replaying each one with the
 * enabled sets recorded counts its preemptions (switching away from an actor that still
 * had an enabled move) and gives the global state after each step.
 *
 * Without its state cache the search would run exactly the schedules with at most
 * `level` preemptions. The cache skips a schedule whose path meets a state already
 * explored (after the same actor, with at least as much of the bound left), so on
 * programs where paths meet, the set run is a subset that must still reach every state
 * (and every bug) those schedules reach; equality is asked only of programs where no two
 * paths meet in one state.
 */
import { describe, expect, it } from 'vitest';
import { now } from '../../src/actions/index.ts';
import { explore } from '../../src/explore/explore.ts';
import { runTask } from '../../src/explore/run-task.ts';
import type { Bug } from '../../src/runtime/step.ts';
import type { ScenarioInstance } from '../../src/scenario/instance.ts';
import { PreemptionBoundedSearch } from '../../src/strategies/preemption-bounded.ts';
import {
  abba,
  bothIn,
  chooseWrite,
  clock,
  independent,
  lastzero,
  lockedCounter,
  lostUpdate,
  mixedRead,
  observedSum,
  philosophers,
  rwlock,
  splitWriteRead,
  tryLock,
  tryRwlock,
  twoSenders,
  writersReaders,
} from '../fixtures/corpus.ts';
import { allSchedules, oneShot, runCounted, scenarioInstance } from '../fixtures/engine.ts';

interface Schedule {
  readonly key: string;
  readonly preemptions: number;
  /** The global state after each step. */
  readonly states: readonly number[];
  /** The actor of each step. */
  readonly actors: readonly string[];
  readonly bug: Bug | undefined;
}

function profile(instance: ScenarioInstance, moves: readonly string[]): Schedule {
  const { result: r, actors, preemptions } = runCounted(instance, moves);
  return { key: moves.join(' '), preemptions, states: r.states, actors, bug: r.bug };
}

function bruteForce(instance: ScenarioInstance): Schedule[] {
  return allSchedules(instance, {}, 5000).map((r) => profile(instance, r.moves));
}

const bugName = (b: Bug) => `${b.kind}: ${b.invariant ?? b.message}`;
const within = (all: readonly Schedule[], k: number) => all.filter((s) => s.preemptions <= k);
const statesOf = (list: readonly Schedule[]) => new Set(list.flatMap((s) => s.states));
const bugsOf = (list: readonly Schedule[]) =>
  [...new Set(list.flatMap((s) => (s.bug ? [bugName(s.bug)] : [])))].sort();
const sorted = (keys: Iterable<string>) => [...keys].sort();

/** Drives the search through its next/awaiting/accept API, one execution at a time. */
function drive(instance: ScenarioInstance, bound: number) {
  const search = new PreemptionBoundedSearch(bound);
  const runs: { level: number; moves: readonly string[]; bug: Bug | undefined }[] = [];
  for (;;) {
    const want = search.awaiting();
    if (want === undefined) break;
    const t = search.next();
    expect(t, 'awaiting names an execution, so next hands one out').toBeDefined();
    expect(t!.id).toBe(want);
    const r = runTask(instance, t!.id, t!.task);
    search.accept(r);
    runs.push({ level: search.level, moves: r.moves, bug: r.bug });
    if (runs.length > 20_000) throw new Error('runaway search');
  }
  const last = runs.filter((r) => r.level === search.level).map((r) => r.moves.join(' '));
  return { search, runs, last };
}

/** Three actors whose every step reads the clock: each interleaving leaves its own trail of values. */
const clocks = {
  name: 'clocks',
  make: () =>
    scenarioInstance({
      name: 'clocks',
      actors: {
        a: { machine: oneShot([now('a1'), now('a2'), now('a3')], 'a') },
        b: { machine: oneShot([now('b1'), now('b2')], 'b') },
        c: { machine: oneShot([now('c1')], 'c') },
      },
    }),
};

/** Two paths that reach the same state after the same actor: what the state cache may prune. */
function meetings(all: readonly Schedule[]): number {
  const first = new Map<string, string>();
  let n = 0;
  for (const s of all) {
    const moves = s.key.split(' ');
    s.states.forEach((h, i) => {
      const where = `${h}|${s.actors[i]}`;
      const path = moves.slice(0, i + 1).join(' ');
      const seen = first.get(where);
      if (seen === undefined) first.set(where, path);
      else if (seen !== path) n++;
    });
  }
  return n;
}

const BOUNDS = [0, 1, 2, 3];

describe('against brute force, where no two paths meet in one state', () => {
  for (const program of [clocks, bothIn]) {
    describe(program.name, () => {
      const instance = program.make();
      const all = bruteForce(instance);
      const maxP = Math.max(...all.map((s) => s.preemptions));

      it('(precondition) no two paths meet in one state, and some schedule needs 2+ preemptions', () => {
        expect(meetings(all)).toBe(0);
        expect(maxP).toBeGreaterThanOrEqual(program === clocks ? 3 : 1);
      });

      it.each(BOUNDS)('bound %i runs exactly the schedules with at most that many preemptions', (k) => {
        const { search, last, runs } = drive(instance, k);
        const level = Math.min(k, maxP);
        expect(search.level).toBe(level);
        expect(sorted(last)).toEqual(sorted(within(all, level).map((s) => s.key)));
        expect(new Set(last).size).toBe(last.length);
        // Iterative deepening: every level before the last ran its own schedules in full.
        for (let l = 0; l < level; l++) {
          const at = runs.filter((r) => r.level === l).map((r) => r.moves.join(' '));
          expect(sorted(at)).toEqual(sorted(within(all, l).map((s) => s.key)));
        }
        expect(search.exhausted).toBe(k >= maxP);
      });
    });
  }
});

const CORPUS_SMALL = [
  writersReaders,
  splitWriteRead,
  lastzero(2),
  independent(3),
  abba,
  philosophers(3),
  lockedCounter,
  rwlock,
  tryLock,
  tryRwlock,
  chooseWrite,
  clock,
  twoSenders,
  bothIn,
  observedSum,
  lostUpdate,
  mixedRead,
];

describe.each(CORPUS_SMALL.map((p) => [p.name, p] as const))('against brute force: %s', (_name, program) => {
  let memo: { instance: ScenarioInstance; all: Schedule[] } | undefined;
  const brute = () => {
    if (memo) return memo;
    const instance = program.make();
    memo = { instance, all: bruteForce(instance) };
    return memo;
  };
  it('every bound runs only schedules within it, once, reaching every state and bug they reach', () => {
    const { instance, all } = brute();
    for (const k of BOUNDS) {
      const { search, last } = drive(instance, k);
      const allowed = new Map(within(all, search.level).map((s) => [s.key, s]));
      const ran = last.map((key) => {
        const s = allowed.get(key);
        expect(s, `bound ${k}: ${key} is a schedule within ${search.level} preemptions`).toBeDefined();
        return s!;
      });
      expect(new Set(last).size, `bound ${k}: no schedule twice`).toBe(last.length);
      const reach = within(all, search.level);
      expect(sorted([...statesOf(ran)].map(String)), `bound ${k}: states`).toEqual(
        sorted([...statesOf(reach)].map(String)),
      );
      expect(bugsOf(ran), `bound ${k}: bugs`).toEqual(bugsOf(reach));
      expect(search.level).toBeLessThanOrEqual(k);
      if (search.exhausted) {
        // Exhausted: the whole space is covered.
        expect(statesOf(ran).size).toBe(statesOf(all).size);
        expect(bugsOf(ran)).toEqual(bugsOf(all));
      } else {
        // Not exhausted: the bound really cut a schedule off.
        expect(search.level).toBe(k);
        expect(all.some((s) => s.preemptions > k)).toBe(true);
      }
    }
  });
});

describe('a bug that needs exactly one preemption (lost update)', () => {
  const instance = lostUpdate.make();
  const run = (bound: number) => {
    const search = new PreemptionBoundedSearch(bound);
    return explore(instance, [{ lanes: [search], cap: Number.POSITIVE_INFINITY }], {
      maxSchedules: 1e9,
      budgetMs: 1e9,
    }).then((outcome) => ({ outcome, search }));
  };

  it('(precondition) brute force: the fewest preemptions of a buggy schedule is 1', () => {
    const all = bruteForce(instance);
    const buggy = all.filter((s) => s.bug);
    expect(buggy.length).toBeGreaterThan(0);
    expect(Math.min(...buggy.map((s) => s.preemptions))).toBe(1);
  });

  it('bound 0 finds nothing and does not claim to be exhaustive', async () => {
    const { outcome, search } = await run(0);
    expect(outcome.bug).toBeUndefined();
    expect(search.exhausted).toBe(false);
    expect(search.level).toBe(0);
    expect(outcome.schedules).toBe(within(bruteForce(instance), 0).length);
  });

  it.each([1, 2, 3])('bound %i finds it, on a schedule with exactly 1 preemption', async (bound) => {
    const { outcome, search } = await run(bound);
    expect(outcome.stop).toBe('bug');
    expect(outcome.bug?.bug?.invariant).toBe('no lost update');
    expect(search.level).toBe(1);
    const moves = outcome.bug!.moves!;
    const s = profile(instance, moves);
    expect(s.bug?.invariant).toBe('no lost update');
    expect(s.preemptions).toBe(1);
  });
});

describe('explore() with a preemption-bounded lane', () => {
  it('stops as exhausted when no schedule needs more than the bound', async () => {
    const instance = clocks.make();
    const all = bruteForce(instance);
    const maxP = Math.max(...all.map((s) => s.preemptions));
    const search = new PreemptionBoundedSearch(maxP + 1);
    const outcome = await explore(instance, [{ lanes: [search], cap: Number.POSITIVE_INFINITY }], {
      maxSchedules: 1e9,
      budgetMs: 1e9,
    });
    expect(outcome.stop).toBe('exhausted');
    expect(search.exhausted).toBe(true);
    expect(search.level).toBe(maxP);
    // Every level from 0 to maxP ran its schedules: the counts add up.
    let total = 0;
    for (let l = 0; l <= maxP; l++) total += within(all, l).length;
    expect(outcome.schedules).toBe(total);
  });
});

describe('the state cache', () => {
  it('skips schedules whose path meets a state already explored, and still reaches every state (lastzero(2), bound 2)', () => {
    const instance = lastzero(2).make();
    const all = bruteForce(instance);
    const { search, last } = drive(instance, 2);
    expect(search.level).toBe(2);
    expect(last.length).toBeLessThan(within(all, 2).length);
    expect(statesOf(all.filter((s) => last.includes(s.key))).size).toBe(statesOf(within(all, 2)).size);
  });
});

describe('bounded executions carry their states (regression: lost in a revert, fixed in 201e176)', () => {
  it('runTask returns the state after each step of a bounded execution (TaskResult.states)', () => {
    const instance = lostUpdate.make();
    const r = runTask(instance, 0, { kind: 'bounded', prefix: [] });
    expect(r.steps).toBeGreaterThan(0);
    // search.ts: "Preemption-bounded search: the enabled moves before every step, and the state after each."
    expect(r.enabled).toHaveLength(r.steps);
    expect(r.states, 'runTask must keep the states BoundedBranch asked to hash').toHaveLength(r.steps);
  });

  it('explore() counts the distinct states a preemption-bounded search reaches', async () => {
    const instance = clocks.make();
    const seen = new Set<number>();
    const outcome = await explore(
      instance,
      [{ lanes: [new PreemptionBoundedSearch(1)], cap: Number.POSITIVE_INFINITY }],
      {
        maxSchedules: 1e9,
        budgetMs: 1e9,
        onResult: (r) => {
          for (const h of profile(instance, r.moves).states) seen.add(h);
        },
      },
    );
    expect(seen.size).toBeGreaterThan(0);
    expect(outcome.states).toBe(seen.size);
  });
});
