/**
 * `live --controlled`: each actor's machine on its own worker thread, the scheduler
 * granting every step. On every bundled scenario and variant the trace (hash, steps, bug)
 * is the in-process runtime's for the same seed. An actor that throws or hangs is named,
 * the run ends within a bounded time, and no thread is left running.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runExecution } from '../../src/explore/run-execution.ts';
import { ActorThreads } from '../../src/live/actor-threads.ts';
import { controlledRun } from '../../src/live/controlled.ts';
import { ModelError } from '../../src/model/errors.ts';
import { instantiate } from '../../src/scenario/instance.ts';
import { loadBundled } from '../../src/scenario/load.ts';
import { RandomStrategy } from '../../src/strategies/random.ts';
import { bin } from '../cli/helpers.ts';
import misbehaving from '../fixtures/live-misbehaving.ts';

const MISBEHAVING = fileURLToPath(new URL('../fixtures/live-misbehaving.ts', import.meta.url));
const SEEDS = [0, 1, 2];
const opened: ActorThreads[] = [];
afterAll(async () => {
  await Promise.all(opened.map((t) => t.close()));
});

describe('live --controlled: the in-process runtime’s trace, on worker threads', async () => {
  const { scenarios } = await loadBundled();
  for (const { scenario, file } of scenarios) {
    it(`${scenario.name}: every variant, seeds ${SEEDS.join(', ')}`, async () => {
      const threads = new ActorThreads(file);
      opened.push(threads);
      for (const variant of Object.keys(scenario.variants)) {
        const instance = instantiate(scenario, variant);
        for (const seed of SEEDS) {
          const live = controlledRun(instance, threads, seed);
          const s = new RandomStrategy(seed);
          s.begin(0);
          const here = runExecution(instance, s, 0);
          expect(live.traceHash, `${scenario.name}:${variant} seed ${seed}`).toBe(here.traceHash);
          expect(live.steps).toBe(here.steps);
          expect(live.moves).toEqual(here.moves);
          expect(live.bug?.message).toBe(here.bug?.message);
        }
      }
      await threads.close();
      expect(threads.running).toBe(0);
    }, 120_000);
  }
});

describe('live --controlled: actors that misbehave', () => {
  const run = (fault: string, stepTimeoutMs = 5_000) => {
    const threads = new ActorThreads(MISBEHAVING, { stepTimeoutMs });
    opened.push(threads);
    const instance = instantiate(misbehaving, 'main', { fault });
    return { threads, go: () => controlledRun(instance, threads, 0) };
  };

  it('a machine that throws on its thread is reported with its actor, as in process', async () => {
    const { threads, go } = run('throw');
    const e = (() => {
      try {
        go();
      } catch (x) {
        return x;
      }
      throw new Error('expected the run to fail');
    })();
    expect(e).toBeInstanceOf(ModelError);
    expect((e as ModelError).message).toMatch(
      /^actor 'worker' threw in state 'first' handling completion at step \d+: the device model lost its state$/,
    );
    expect((e as ModelError).where.actor).toBe('worker');
    await threads.close();
    expect(threads.running).toBe(0);
  }, 60_000);

  it('a machine that hangs is named within the step timeout, and its thread is ended', async () => {
    const { threads, go } = run('hang', 500);
    threads.reset(instantiate(misbehaving, 'main', { fault: 'hang' }));
    const t0 = performance.now();
    expect(go).toThrow(
      /^actor 'worker' hangs: its worker thread did not answer within 500 ms handling 'ops.done'$/,
    );
    expect(performance.now() - t0).toBeLessThan(5_000);
    await threads.close();
    expect(threads.running).toBe(0);
  }, 60_000);

  it('the real binary: a hung actor is named, exit 3, no stack, and the process ends (no thread left)', () => {
    const t0 = performance.now();
    const r = bin(
      'live',
      MISBEHAVING,
      '--controlled',
      '--runs',
      '2',
      '--param',
      'fault=hang',
      '--step-timeout',
      '1s',
    );
    expect(r.code).toBe(3);
    expect(r.err).toContain("actor 'worker' hangs: its worker thread did not answer within 1000 ms");
    expect(r.err).not.toMatch(/\n\s+at /);
    // A thread left running would keep the process alive until bin()'s 60 s timeout.
    expect(performance.now() - t0).toBeLessThan(20_000);
  });

  it('the real binary: the first run’s trace hash is `run`’s for the same seed', () => {
    const live = JSON.parse(
      bin('live', 'runstate:fixed', '--controlled', '--runs', '3', '--seed', '4', '--json').out,
    );
    const run = JSON.parse(bin('run', 'runstate:fixed', '--seed', '4', '--json').out);
    expect(live).toMatchObject({
      mode: 'controlled',
      runs: 3,
      seeds: { first: 4, last: 6 },
      verdict: 'pass',
    });
    expect(live.firstTraceHash).toBe(run.traceHash);
  });
});
