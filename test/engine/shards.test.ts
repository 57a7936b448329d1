/**
 * Shards (src/strategies/shard.ts): unsharded, one DPOR search; under `--shard i/n` the
 * search is split into lanes, one DPOR search per root of a sleep-set frontier of at least
 * 4n nodes, and shard i takes every n-th lane. Each
 * run goes through explore() in process. The class of an execution is its Mazurkiewicz
 * trace (src/explore/trace-class.ts), computed from footprints recorded with the
 * invariants' reads tracked, as DPOR sees them (see test/engine/dpor-soundness.test.ts).
 *
 * Shards must partition the classes of the unsharded run (their class counts add up to
 * its count; blocked executions may differ, since a split forces branches DPOR would not
 * take), and the unsharded run must cover every class brute force finds. Every
 * program here is bug-free: a run stops at its first bug, and classes of runs cut short
 * cannot be compared.
 */
import { describe, expect, it } from 'vitest';
import mmioSplit from '../../scenarios/mmio-split.ts';
import { type ExploreOutcome, explore } from '../../src/explore/explore.ts';
import { runExecution } from '../../src/explore/run-execution.ts';
import { traceClassKey } from '../../src/explore/trace-class.ts';
import { instantiate, type ScenarioInstance } from '../../src/scenario/instance.ts';
import { DporStrategy } from '../../src/strategies/dpor.ts';
import { ReplayStrategy } from '../../src/strategies/replay.ts';
import { dporLanes, PARTS_PER_SHARD, type Shard, splitRoots } from '../../src/strategies/shard.ts';
import {
  chooseWrite,
  clock,
  cmpxchgRace,
  independent,
  ioreq,
  lastzero,
  lockedCounter,
  observedSum,
  rwlock,
  splitWriteRead,
  tryLock,
  tryRwlock,
  twoSenders,
  writersReaders,
  writersReadersDisjoint,
} from '../fixtures/corpus.ts';
import { allSchedules } from '../fixtures/engine.ts';

/** Replays a schedule with the invariants' reads recorded into the footprints, as DPOR runs. */
class TrackedReplay extends ReplayStrategy {
  readonly tracksReads = true;
}

function classKey(instance: ScenarioInstance, moves: readonly string[]): string {
  const s = new TrackedReplay(moves);
  s.begin();
  const r = runExecution(instance, s, 0, { record: true });
  expect(r.moves).toEqual(moves);
  return traceClassKey(
    r.moves,
    r.records.map((x) => x.footprint),
  );
}

interface Run {
  readonly outcome: ExploreOutcome;
  /** Every execution, in the order judged. */
  readonly executions: readonly { readonly moves: string; readonly blocked: boolean }[];
  /** The class of every complete execution, in the order judged. */
  readonly classes: readonly string[];
}

async function run(instance: ScenarioInstance, shard?: Shard): Promise<Run> {
  const executions: { moves: string; blocked: boolean }[] = [];
  const keys: string[] = [];
  const outcome = await explore(
    instance,
    [{ lanes: dporLanes(instance, shard), cap: Number.POSITIVE_INFINITY }],
    {
      maxSchedules: 1e9,
      budgetMs: 1e9,
      onResult: (r) => {
        expect(r.bug, `a bug in ${r.moves.join(' ')}`).toBeUndefined();
        executions.push({ moves: r.moves.join(' '), blocked: r.blocked });
        if (!r.blocked) keys.push(classKey(instance, r.moves));
      },
    },
  );
  return { outcome, executions, classes: keys };
}

/** Brute force's classes (replaying each schedule with tracked reads when an invariant is tracked). */
function bruteClasses(instance: ScenarioInstance): Set<string> {
  const tracked = instance.invariants.some((i) => i.kind === 'tracked');
  const out = new Set<string>();
  for (const r of allSchedules(instance, { record: true }, 5000)) {
    expect(r.bug).toBeUndefined();
    out.add(
      tracked
        ? classKey(instance, r.moves)
        : traceClassKey(
            r.moves,
            r.records.map((x) => x.footprint),
          ),
    );
  }
  return out;
}

/** One DPOR search over the whole tree, for programs too large for brute force. */
function singleDporClasses(instance: ScenarioInstance): Set<string> {
  const s = new DporStrategy();
  const out = new Set<string>();
  let n = 0;
  while (s.begin()) {
    const r = runExecution(instance, s, n++, { record: true });
    if (!r.blocked) out.add(classKey(instance, r.moves));
  }
  expect(s.exhausted).toBe(true);
  return out;
}

const sorted = (xs: Iterable<string>) => [...xs].sort();

const PROGRAMS = [
  { program: writersReaders, reference: 'brute' },
  { program: writersReadersDisjoint, reference: 'brute' },
  { program: splitWriteRead, reference: 'brute' },
  { program: lastzero(2), reference: 'brute' },
  { program: lastzero(3), reference: 'brute' },
  { program: ioreq(2), reference: 'dpor' },
  { program: ioreq(1, false), reference: 'brute' },
  { program: independent(3), reference: 'brute' },
  { program: lockedCounter, reference: 'brute' },
  { program: rwlock, reference: 'brute' },
  { program: tryLock, reference: 'brute' },
  { program: tryRwlock, reference: 'brute' },
  { program: chooseWrite, reference: 'brute' },
  { program: clock, reference: 'brute' },
  { program: twoSenders, reference: 'brute' },
  { program: cmpxchgRace, reference: 'brute' },
  { program: observedSum, reference: 'brute' },
] as const;

describe.each(PROGRAMS.map((p) => [p.program.name, p] as const))(
  'shards of %s',
  (_name, { program, reference }) => {
    let memo: { instance: ScenarioInstance; whole: Run; parts: Map<number, Run[]> } | undefined;
    const runs = async () => {
      if (memo) return memo;
      const instance = program.make();
      const whole = await run(instance);
      const parts = new Map<number, Run[]>();
      for (const count of [2, 3]) {
        const list: Run[] = [];
        for (let index = 1; index <= count; index++) list.push(await run(instance, { index, count }));
        parts.set(count, list);
      }
      memo = { instance, whole, parts };
      return memo;
    };

    it('the unsharded lanes cover the space, each class once', async () => {
      const { whole } = await runs();
      expect(whole.outcome.stop).toBe('exhausted');
      expect(whole.outcome.exhausted).toBe(true);
      expect(new Set(whole.classes).size).toBe(whole.classes.length);
      expect(whole.outcome.classes).toBe(whole.classes.length);
      expect(whole.outcome.schedules).toBe(whole.executions.length);
      expect(whole.outcome.blocked).toBe(whole.executions.filter((e) => e.blocked).length);
    });

    it(`the unsharded classes are exactly those of ${reference === 'brute' ? 'brute force' : 'a single DPOR search'}`, async () => {
      const { instance, whole } = await runs();
      const expected = reference === 'brute' ? bruteClasses(instance) : singleDporClasses(instance);
      expect(sorted(new Set(whole.classes))).toEqual(sorted(expected));
    });

    for (const count of [2, 3]) {
      it(`${count} shards: pairwise disjoint, exhaustive each, their union is the unsharded set`, async () => {
        const { whole, parts } = await runs();
        const shards = parts.get(count)!;
        expect(shards).toHaveLength(count);
        for (const s of shards) {
          expect(s.outcome.exhausted).toBe(true);
          expect(new Set(s.classes).size).toBe(s.classes.length);
        }
        for (let i = 0; i < count; i++) {
          for (let j = i + 1; j < count; j++) {
            const other = new Set(shards[j].classes);
            expect(
              shards[i].classes.filter((k) => other.has(k)),
              `classes in both shard ${i + 1} and shard ${j + 1}`,
            ).toEqual([]);
          }
        }
        expect(sorted(shards.flatMap((s) => s.classes))).toEqual(sorted(whole.classes));
      });

      it(`${count} shards: their classes add up to the unsharded run's, and each counts its own`, async () => {
        const { whole, parts } = await runs();
        const shards = parts.get(count)!;
        const sum = (f: (o: ExploreOutcome) => number) => shards.reduce((n, s) => n + f(s.outcome), 0);
        expect(sum((o) => o.classes)).toBe(whole.outcome.classes);
        for (const s of shards) {
          expect(s.outcome.schedules).toBe(s.executions.length);
          expect(s.outcome.blocked).toBe(s.executions.filter((e) => e.blocked).length);
          expect(s.outcome.schedules - s.outcome.blocked).toBe(s.outcome.classes);
        }
      });
    }
  },
);

describe('the split is deterministic', () => {
  /** What a lane starts from: its first task's prefix and sleep set. */
  const starts = (instance: ScenarioInstance, shard?: Shard) =>
    dporLanes(instance, shard).map((lane) => {
      const t = lane.next();
      if (t?.task.kind !== 'dpor') throw new Error('a DPOR lane hands out DPOR tasks');
      return { prefix: t.task.prefix, sleep: t.task.sleep };
    });

  for (const program of [writersReaders, lastzero(3), twoSenders, cmpxchgRace, ioreq(2)]) {
    it(`${program.name}: one lane unsharded; shard i/n takes every n-th part of a split into 4n`, () => {
      const instance = program.make();
      expect(starts(instance)).toEqual([{ prefix: [], sleep: [] }]);
      for (const count of [2, 3]) {
        const parts = splitRoots(instance, PARTS_PER_SHARD * count);
        expect(parts.length).toBeGreaterThan(1);
        expect(splitRoots(program.make(), PARTS_PER_SHARD * count)).toEqual(parts);
        const all: string[] = [];
        for (let index = 1; index <= count; index++) {
          const mine = starts(instance, { index, count });
          expect(starts(program.make(), { index, count })).toEqual(mine);
          expect(mine.map((m) => m.prefix)).toEqual(
            parts.filter((_, k) => k % count === index - 1).map((r) => r.moves),
          );
          all.push(...mine.map((m) => m.prefix.join(' ')));
        }
        // Every part goes to exactly one shard.
        expect(all.sort()).toEqual(parts.map((r) => r.moves.join(' ')).sort());
      }
    });
  }
});

describe('the split of mmio-split:fixed is deterministic', () => {
  it('the same parts from the same instance twice and from a fresh one (what n CI jobs each compute)', () => {
    const first = (instance: ScenarioInstance) =>
      dporLanes(instance, { index: 2, count: 2 }).map((lane) => lane.next()?.task);
    const instance = instantiate(mmioSplit, 'fixed', {});
    const once = first(instance);
    expect(once.length).toBeGreaterThan(1);
    expect(first(instance)).toEqual(once);
    expect(first(instantiate(mmioSplit, 'fixed', {}))).toEqual(once);
  });
});
