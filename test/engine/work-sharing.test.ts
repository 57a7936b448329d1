/**
 * Work sharing between threads (src/explore/work-sharing.ts) decides exactly what one
 * thread running DPOR depth-first decides. Here the threads are simulated in process: a
 * seeded scheduler interleaves the runners' executions and the delivery of every message
 * at random, so gifts, logs and steal requests cross in every order. For each program,
 * each seed and 2 to 4 runners, the lanes' logs must equal, entry by entry, the
 * executions of a plain DporSearch run alone; and subtrees must really have changed hands.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { runTask } from '../../src/explore/run-task.ts';
import type { SubtreeEntry, SubtreeLog } from '../../src/explore/subtree-work.ts';
import {
  Coordinator,
  covered,
  type FromRunner,
  Runner,
  type ToRunner,
} from '../../src/explore/work-sharing.ts';
import type { ScenarioInstance } from '../../src/scenario/instance.ts';
import { type DporRoot, DporSearch } from '../../src/strategies/dpor.ts';
import { Prng } from '../../src/strategies/prng.ts';
import { splitRoots } from '../../src/strategies/shard.ts';
import { CORPUS, type CorpusProgram, ioreq, lastzero, philosophers } from '../fixtures/corpus.ts';

type Seen = Pick<SubtreeEntry, 'steps' | 'blocked' | 'states'> & { readonly bug?: string };

const seen = (e: SubtreeEntry): Seen => ({
  steps: e.steps,
  blocked: e.blocked,
  states: e.states,
  ...(e.bug ? { bug: `${e.bug.kind} ${e.bug.message} @${(e.moves ?? []).join(' ')}` } : {}),
});

/** One thread, depth-first, up to and including the first bug or `cap` executions. */
function alone(inst: ScenarioInstance, root: DporRoot, cap = Number.POSITIVE_INFINITY): Seen[] {
  const s = new DporSearch(root);
  const out: Seen[] = [];
  while (out.length < cap && s.awaiting() !== undefined) {
    const t = s.next()!;
    const r = runTask(inst, t.id, t.task);
    s.peek(r);
    s.accept(r);
    out.push(
      seen({
        steps: r.steps,
        blocked: r.blocked,
        states: r.dpor!.states,
        races: [],
        bug: r.bug,
        moves: r.moves,
      }),
    );
    if (r.bug) break;
  }
  return out;
}

interface Shared {
  readonly logs: readonly SubtreeLog[];
  readonly gifts: number;
  readonly ran: number;
}

/** `n` runners and a coordinator, every tick and every message delivery in a random order. */
function simulate(
  inst: ScenarioInstance,
  roots: readonly DporRoot[],
  n: number,
  seed: number,
  cap: number,
): Shared {
  const rng = new Prng(seed);
  const toRunner: ToRunner[][] = Array.from({ length: n }, () => []);
  const toCoordinator: [number, FromRunner][] = [];
  let gifts = 0;
  const runners = Array.from(
    { length: n },
    (_, k) =>
      new Runner(inst, (m) => {
        if (m.t === 'gift') gifts++;
        toCoordinator.push([k, m]);
      }),
  );
  const coordinator = new Coordinator(
    roots.map((root, k) => ({ id: `L${k}`, root, cap })),
    toRunner.map((q) => (m: ToRunner) => q.push(m)),
  );
  coordinator.start();
  for (let guard = 0; !coordinator.finished; guard++) {
    if (guard > 1_000_000) throw new Error('the simulation does not finish');
    const r = rng.below(n + 2);
    if (r < n) {
      // A runner takes one of its messages, or works.
      const q = toRunner[r];
      if (q.length && rng.below(2) === 0) runners[r].receive(q.shift()!);
      else runners[r].tick();
    } else if (toCoordinator.length) {
      // Messages from different runners arrive in any order; from one runner, in order.
      const from = toCoordinator[rng.below(toCoordinator.length)][0];
      const k = toCoordinator.findIndex(([f]) => f === from);
      const [[f, m]] = toCoordinator.splice(k, 1);
      coordinator.handle(f, m);
    }
  }
  expect(coordinator.error).toBeUndefined();
  return {
    logs: coordinator.roots.map((l) => l!),
    gifts,
    ran: runners.reduce((s, x) => s + x.stats().ran, 0),
  };
}

const SHARED: readonly CorpusProgram[] = [...CORPUS, lastzero(4), ioreq(3), philosophers(4)];

const given = new Map<string, number>();

describe('work sharing decides what one thread decides', () => {
  afterAll(() => {
    console.log(`subtrees given away (9 runs each): ${[...given].map(([k, v]) => `${k} ${v}`).join(', ')}`);
  });

  for (const p of SHARED) {
    it(p.name, () => {
      const inst = p.make();
      const want = alone(inst, { moves: [], sleep: [] });
      let gifts = 0;
      for (const n of [2, 3, 4]) {
        for (let seed = 1; seed <= 3; seed++) {
          const got = simulate(
            inst,
            [{ moves: [], sleep: [] }],
            n,
            seed * 7919 + n,
            Number.POSITIVE_INFINITY,
          );
          expect(got.logs[0].entries.map(seen), `${n} runners, seed ${seed}`).toEqual(want);
          expect(got.logs[0].stopped).toBe(want.at(-1)?.bug ? 'bug' : undefined);
          // Every execution run counts, unless a bug cut the search short.
          if (!want.at(-1)?.bug) expect(got.ran).toBe(want.length);
          gifts += got.gifts;
        }
      }
      // Not vacuous: on every search of some size, subtrees changed hands. (A small one may
      // only ever have work at its deepest node, which is never given away.)
      if (want.length >= 10) expect(gifts).toBeGreaterThan(0);
      given.set(p.name, gifts);
    });
  }

  it('stops each lane at the cap, as one thread would', () => {
    const inst = lastzero(4).make();
    const want = alone(inst, { moves: [], sleep: [] }, 17);
    for (let seed = 1; seed <= 5; seed++) {
      const got = simulate(inst, [{ moves: [], sleep: [] }], 3, seed, 17);
      expect(got.logs[0].entries.map(seen)).toEqual(want);
      expect(got.logs[0].stopped).toBe('cap');
    }
  });

  it('shares the lanes of shard roots, each lane as one thread would run it', () => {
    for (const p of [lastzero(4), ioreq(3)]) {
      const inst = p.make();
      const roots = splitRoots(inst, 6);
      expect(roots.length).toBeGreaterThan(1);
      const want = roots.map((r) => alone(inst, r));
      for (let seed = 1; seed <= 3; seed++) {
        const got = simulate(inst, roots, 3, seed, Number.POSITIVE_INFINITY);
        expect(got.logs.map((l) => l.entries.map(seen))).toEqual(want);
      }
    }
  });
});

describe('covered', () => {
  it('names a task and what it gave away, or only what it gave away', () => {
    expect(covered('L1', 'L1')).toBe(true);
    expect(covered('L1.2.3', 'L1')).toBe(true);
    expect(covered('L10', 'L1')).toBe(false);
    expect(covered('L1', 'L1.')).toBe(false);
    expect(covered('L1.4', 'L1.')).toBe(true);
  });
});
