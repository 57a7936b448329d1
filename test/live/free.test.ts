/**
 * Free-running `live`: every actor on its own worker thread over shared memory, no
 * scheduler in between; after each run the observed interleaving (the ticket order) is
 * replayed through every checker. A correct protocol shows no bug in any replayed run, a
 * torn store shows in every one, a race shows even though no value reveals it, the first
 * bug's trace replays, and a thread that throws or hangs is named with nothing left
 * running.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import mmioSplit from '../../scenarios/mmio-split.ts';
import runstate from '../../scenarios/runstate.ts';
import { checkLive } from '../../src/live/live-check.ts';
import { LiveRunner } from '../../src/live/live-run.ts';
import { ModelError } from '../../src/model/errors.ts';
import { instantiate } from '../../src/scenario/instance.ts';
import { binIn } from '../cli/helpers.ts';
import misbehaving from '../fixtures/live-misbehaving.ts';
import liveRace from '../fixtures/live-race.ts';

const file = (rel: string) => fileURLToPath(new URL(rel, import.meta.url));
const runners: LiveRunner[] = [];
afterAll(async () => {
  await Promise.all(runners.map((r) => r.close()));
});

async function session(instance: ReturnType<typeof instantiate>, path: string, runs: number) {
  const runner = new LiveRunner(instance, path);
  runners.push(runner);
  const verdicts = [];
  for (let i = 0; i < runs; i++) verdicts.push(checkLive(instance, (await runner.run()).logs));
  await runner.close();
  expect(runner.running).toBe(0);
  return verdicts;
}

describe('free-running live', () => {
  it('runstate:fixed: every run replays through the checkers, and none shows a bug', async () => {
    const inst = instantiate(runstate, 'fixed');
    const vs = await session(inst, file('../../scenarios/runstate.ts'), 40);
    const replayed = vs.filter((v) => v.replay);
    expect(replayed.length).toBeGreaterThan(30);
    expect(replayed.filter((v) => v.exact).length).toBeGreaterThan(0);
    expect(replayed.map((v) => v.replay!.bug?.message)).toEqual(replayed.map(() => undefined));
    // The ticket order is the order things took effect in unless two steps overlapped.
    for (const v of vs) if (v.overlapped === 0) expect(v.exact).toBe(true);
    // Every step of both actors is in the observed interleaving, in ticket order.
    for (const v of vs) {
      expect(v.observed.map((s) => s.ticket)).toEqual(
        [...v.observed.map((s) => s.ticket)].sort((a, b) => a - b),
      );
      expect(new Set(v.observed.map((s) => s.actor))).toEqual(new Set(['vcpu', 'guest']));
    }
  }, 60_000);

  it('runstate:whole-field-flag: the torn flag store shows in every replayed run', async () => {
    const inst = instantiate(runstate, 'whole-field-flag');
    const vs = await session(inst, file('../../scenarios/runstate.ts'), 30);
    const replayed = vs.filter((v) => v.replay);
    expect(replayed.length).toBeGreaterThan(20);
    for (const v of replayed) expect(['race', 'invariant']).toContain(v.replay!.bug?.kind);
  }, 60_000);

  it('a race no value reveals is found in every run, by happens-before', async () => {
    const inst = instantiate(liveRace, 'main');
    const vs = await session(inst, file('../fixtures/live-race.ts'), 20);
    for (const v of vs) {
      expect(v.replay?.bug?.kind).toBe('race');
      // The ticket order is the order the bytes moved in unless two steps overlapped.
      if (v.overlapped === 0) expect(v.exact).toBe(true);
    }
  }, 60_000);

  it('mmio-split:no-cache: the duplicated device read is caught live (I3)', async () => {
    const inst = instantiate(mmioSplit, 'no-cache');
    const vs = await session(inst, file('../../scenarios/mmio-split.ts'), 10);
    expect(vs.some((v) => v.replay?.bug?.invariant === 'I3')).toBe(true);
  }, 60_000);

  it('a thread that throws is named; one that hangs is named within the stall limit; none is left running', async () => {
    const path = file('../fixtures/live-misbehaving.ts');
    const throwing = new LiveRunner(instantiate(misbehaving, 'main', { fault: 'throw' }), path);
    runners.push(throwing);
    await expect(throwing.run()).rejects.toThrow(
      /^actor 'worker' threw in state 'first' handling completion: the device model lost its state$/,
    );
    await throwing.close();
    expect(throwing.running).toBe(0);

    const hanging = new LiveRunner(instantiate(misbehaving, 'main', { fault: 'hang' }), path, {
      stallMs: 300,
      stopGraceMs: 300,
    });
    runners.push(hanging);
    const t0 = performance.now();
    const e = await hanging.run().then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(ModelError);
    expect((e as ModelError).message).toMatch(
      /^actor 'worker' hangs: its worker thread did not stop within 300 ms/,
    );
    expect(performance.now() - t0).toBeLessThan(5_000);
    await hanging.close();
    expect(hanging.running).toBe(0);
  }, 60_000);

  it('the real binary: runs/s, the post-run check, and a first bug whose trace replays', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vcpusim-live-'));
    const r = await binIn(dir, 'live', 'runstate:whole-field-flag', '--runs', '20', '--json');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out);
    expect(doc).toMatchObject({ mode: 'free', runs: 20, verdict: 'bug', expect: 'bug' });
    expect(doc.runsPerSecond).toBeGreaterThan(0);
    expect(doc.replayed).toBeGreaterThan(10);
    const replay = await binIn(dir, 'replay', doc.bug.traceFile);
    expect(replay.code).toBe(0);
    expect(replay.out).toContain('reproduced: same outcome and trace hash as recorded');
  }, 60_000);
});
