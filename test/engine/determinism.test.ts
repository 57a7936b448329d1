import { describe, expect, it } from 'vitest';
import { assign, enqueueActions, setup } from 'xstate';
import { now, type OperationEvent, read, write } from '../../src/actions/index.ts';
import { checkDeterminism, replayMoves } from '../../src/explore/run-execution.ts';
import { ModelError } from '../../src/model/errors.ts';
import type { DoneEvent } from '../../src/model/operation.ts';
import { runRandom, scenarioInstance, thrown } from '../fixtures/engine.ts';

const ops = setup({ types: { events: {} as DoneEvent, emitted: {} as OperationEvent } });

/** Two writers and a reader racing on overlapping, partly unaligned ranges. */
function racy() {
  const w = (id: string, bytes: number[]) =>
    ops.createMachine({
      id,
      initial: 'run',
      states: {
        run: { entry: [write(0x1ffc, bytes), write(0x1000, [bytes[0]])], on: { 'ops.done': 'end' } },
        end: { type: 'final' },
      },
    });
  const r = ops.createMachine({
    id: 'r',
    initial: 'run',
    states: {
      run: { entry: [read(0x1ffe, 4, 'a'), read(0x1000, 1, 'b')], on: { 'ops.done': 'end' } },
      end: { type: 'final' },
    },
  });
  return scenarioInstance({
    actors: {
      w1: { machine: w('w1', [1, 1, 1, 1, 1, 1, 1, 1]) },
      w2: { machine: w('w2', [2, 2, 2, 2, 2, 2, 2, 2]) },
      r: { machine: r },
    },
  });
}

describe('determinism', () => {
  it('gives the same moves and trace hash for the same seed, twice', () => {
    const inst = racy();
    for (const seed of [0, 7, 12345]) {
      const a = runRandom(inst, seed, 3);
      const b = runRandom(inst, seed, 3);
      expect(b.moves).toEqual(a.moves);
      expect(b.traceHash).toBe(a.traceHash);
      expect(b.stepHashes).toEqual(a.stepHashes);
      expect(a.traceHash).toMatch(/^[0-9a-f]{16}$/);
    }
  });

  it('gives the same trace hash when the recorded moves are replayed', () => {
    const inst = racy();
    for (const seed of [1, 2, 3]) {
      const a = runRandom(inst, seed);
      const replay = replayMoves(inst, a.moves);
      expect(replay.moves).toEqual(a.moves);
      expect(replay.traceHash).toBe(a.traceHash);
      expect(replay.stepHashes).toEqual(a.stepHashes);
      expect(replay.records).toHaveLength(a.steps);
      expect(replay.records.at(-1)?.hash).toBe(a.traceHash);
    }
  });

  it('gives different hashes for different schedules of a racy scenario', () => {
    const inst = racy();
    const hashes = new Set<string>();
    const moves = new Set<string>();
    for (let seed = 0; seed < 20; seed++) {
      const r = runRandom(inst, seed);
      hashes.add(r.traceHash);
      moves.add(r.moves.join(' '));
    }
    expect(hashes.size).toBeGreaterThan(1);
    // The hash covers the whole sequence of steps, so distinct schedules never share one here.
    expect(hashes.size).toBe(moves.size);
  });

  it('draws a separate random stream for each execution index', () => {
    const inst = racy();
    const byIndex = new Set<string>();
    for (let i = 0; i < 10; i++) byIndex.add(runRandom(inst, 5, i).traceHash);
    expect(byIndex.size).toBeGreaterThan(1); // execution i draws its own stream
    expect(runRandom(inst, 5, 4).traceHash).toBe(runRandom(inst, 5, 4).traceHash);
  });
});

describe('checkDeterminism', () => {
  it('accepts a deterministic scenario and returns an identical replay', () => {
    const inst = racy();
    const first = runRandom(inst, 9);
    const again = checkDeterminism(inst, first);
    expect(again.traceHash).toBe(first.traceHash);
    expect(again.moves).toEqual(first.moves);
  });

  it('catches Math.random in an assign, naming the step', () => {
    const m = setup({
      types: { context: {} as { r: number }, events: {} as DoneEvent, emitted: {} as OperationEvent },
    }).createMachine({
      id: 'dice',
      context: { r: 0 },
      initial: 'run',
      states: {
        run: {
          entry: now('t'),
          on: { 'ops.done': { target: 'end', actions: assign({ r: () => Math.random() }) } },
        },
        end: { type: 'final' },
      },
    });
    const inst = scenarioInstance({ actors: { dice: { machine: m } } });
    const first = runRandom(inst, 0);
    expect(first.bug).toBeUndefined();
    const e = thrown(() => checkDeterminism(inst, first));
    expect(e).toBeInstanceOf(ModelError);
    const me = e as ModelError;
    expect(me.kind).toBe('nondeterminism');
    expect(me.message).toContain('at step 1 (dice: now (t) = 1)');
    expect(me.message).toContain('Math.random');
    expect(me.where).toMatchObject({ step: 1, actor: 'dice' });
  });

  it('catches a random initial context as a difference at start', () => {
    const m = setup({
      types: { context: {} as { r: number }, events: {} as DoneEvent, emitted: {} as OperationEvent },
    }).createMachine({
      id: 'seeded',
      context: () => ({ r: Math.random() }),
      initial: 'run',
      states: { run: { entry: now('t'), on: { 'ops.done': 'end' } }, end: { type: 'final' } },
    });
    const inst = scenarioInstance({ actors: { s: { machine: m } } });
    const e = thrown(() => checkDeterminism(inst, runRandom(inst, 0))) as ModelError;
    expect(e.kind).toBe('nondeterminism');
    expect(e.where.step).toBe(0);
    expect(e.message).toContain('at start');
  });

  it('catches a shared global that changes what an operation writes', () => {
    let calls = 0;
    const m = ops.createMachine({
      id: 'global',
      initial: 'run',
      states: {
        run: { entry: [now('t'), write(0x1000, () => [calls++ & 0xff])], on: { 'ops.done': 'end' } },
        end: { type: 'final' },
      },
    });
    const inst = scenarioInstance({ actors: { g: { machine: m } } });
    const first = runRandom(inst, 0);
    const e = thrown(() => checkDeterminism(inst, first)) as ModelError;
    expect(e.kind).toBe('nondeterminism');
    expect(e.where.step).toBe(2);
    expect(e.message).toContain('at step 2 (g: write 0x1000/1)');
  });

  it('reports a replay that no longer fits as nondeterminism, not divergence', () => {
    let runs = 0;
    const m = ops.createMachine({
      id: 'growing',
      initial: 'run',
      states: {
        run: {
          entry: enqueueActions(({ enqueue }) => {
            runs++;
            for (let i = 0; i < runs; i++) enqueue(now(`t${i}`));
          }),
          on: { 'ops.done': 'end' },
        },
        end: { type: 'final' },
      },
    });
    const inst = scenarioInstance({ actors: { g: { machine: m } } });
    const first = runRandom(inst, 0);
    expect(first.moves).toEqual(['g']);
    const e = thrown(() => checkDeterminism(inst, first)) as ModelError;
    expect(e.kind).toBe('nondeterminism');
    expect(e.message).toContain('part at step 2');
  });
});
