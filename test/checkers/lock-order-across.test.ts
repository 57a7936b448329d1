/**
 * The lock-order graph across executions through the real binary, on a fixture whose two
 * paths never run in one execution (test/fixtures/lock-paths.ts): the verdict and its
 * counterexample do not depend on the number of workers; shards that each see one path
 * pass alone and `merge` finds the inversion; the trace replays with its witness first.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TraceFile } from '../../src/report/trace-file.ts';
import { binIn, type Ran, timeless } from '../cli/helpers.ts';

const FIXTURE = new URL('../fixtures/lock-paths.ts', import.meta.url).pathname;
/** 5 critical sections per noise actor: the second choice comes after 252 executions. */
const BIG = ['--param', 'rounds=5', '--budget', '10m'];

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vcpusim-lock-across-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
const vcpusim = (...argv: string[]) => binIn(dir, ...argv);

let workers: Promise<[Ran, Ran]> | undefined;
const onOneAndTwo = () =>
  (workers ??= Promise.all([
    vcpusim('check', FIXTURE, '--json', '--strategy', 'dpor', '--workers', '1', ...BIG),
    vcpusim('check', FIXTURE, '--json', '--strategy', 'dpor', '--workers', '2', ...BIG),
  ]));

describe('lock-order inversions across executions', () => {
  it('are found after the other path ran, with the same report on 1 and 2 workers', async () => {
    const [one, two] = await onOneAndTwo();
    expect(one.code).toBe(0);
    const a = timeless(one);
    expect(timeless(two)).toEqual(a);
    const [chosen, consistent] = a.results;
    expect(chosen).toMatchObject({
      variant: 'chosen',
      verdict: 'bug',
      kind: 'lock-order',
      witnesses: 1,
      // Every interleaving of the first choice ran before the second one.
      execution: 252,
      length: 5,
      message:
        'lock-order inversion: a took A (exclusive, step 2) then B (exclusive, step 3) in witness 1; b took B (exclusive, step 4) then A (exclusive, step 5)',
    });
    expect(consistent).toMatchObject({ variant: 'consistent', verdict: 'pass', exhaustive: true });
  });

  it('the trace keeps the witness, cut after its order, and replays it first', async () => {
    const [one] = await onOneAndTwo();
    const bug = timeless(one).results[0];
    const trace = JSON.parse(readFileSync(join(dir, bug.traceFile!), 'utf8')) as TraceFile;
    expect(trace.witnesses).toHaveLength(1);
    expect(trace.witnesses![0]).toMatchObject({
      schedule: 'a#0 a a',
      orders: ['a:A(exclusive)>B(exclusive)/A(exclusive)'],
    });
    const replay = await vcpusim('replay', bug.traceFile!);
    expect(replay.code).toBe(0);
    expect(replay.out).toMatch(/witness 1, another execution that records part of the cycle \(3 steps\)/);
    expect(replay.out).toMatch(/3 {2}a {6}self {11}acquire B \(exclusive\) → granted/);
    expect(replay.out).toContain('reproduced: same outcome and trace hash as recorded');

    // Without its witness the execution shows no inversion and runs on past the trace's end.
    const alone = join(dir, 'alone.trace.json');
    writeFileSync(alone, JSON.stringify({ ...trace, witnesses: undefined }));
    const bare = await vcpusim('replay', alone);
    expect(bare.code).toBe(3);
    expect(bare.err).toContain('trace diverges at step 6: the trace ends after 5 steps');

    // A witness that no longer takes the locks is named.
    const changed = join(dir, 'changed.trace.json');
    const w = trace.witnesses![0];
    writeFileSync(
      changed,
      JSON.stringify({ ...trace, witnesses: [{ ...w, schedule: 'a#0 a', steps: w.steps.slice(0, 2) }] }),
    );
    const bad = await vcpusim('replay', changed);
    expect(bad.code).toBe(3);
    expect(bad.err).toContain(
      'witness 1 no longer records the lock order a:A(exclusive)>B(exclusive)/A(exclusive)',
    );
    expect(bad.err).not.toMatch(/\n\s+at /);

    // A malformed witness list is named, not a stack trace.
    const garbled = join(dir, 'garbled.trace.json');
    writeFileSync(garbled, JSON.stringify({ ...trace, witnesses: [{ schedule: 7 }] }));
    const g = await vcpusim('replay', garbled);
    expect(g.code).toBe(3);
    expect(g.err).toContain(
      `${garbled}: witnesses must be a list of executions, each with a schedule, orders and steps`,
    );
    expect(g.err).not.toMatch(/\n\s+at /);
  });

  it('shards that each ran one path pass alone; merge joins their orders and builds the trace', async () => {
    const files = await Promise.all(
      [1, 2].map(async (i) => {
        const r = await vcpusim(
          'check',
          FIXTURE,
          '--json',
          '--strategy',
          'dpor',
          '--shard',
          `${i}/2`,
          ...BIG,
        );
        const file = join(dir, `shard-${i}.json`);
        writeFileSync(file, r.out);
        return { file, report: timeless(r) };
      }),
    );
    for (const { report } of files) {
      expect(report.results[0].verdict).toBe('pass');
      expect(report.results[0].lockOrders?.length).toBeGreaterThan(0);
    }
    const m = await vcpusim('merge', files[0].file, files[1].file, '--json');
    expect(m.code).toBe(0);
    const [chosen, consistent] = timeless(m).results;
    expect(chosen).toMatchObject({ verdict: 'bug', ok: true, kind: 'lock-order', witnesses: 1, length: 5 });
    expect(chosen.message).toMatch(/^lock-order inversion: a took A .* in witness 1; b took B .* then A/);
    expect(chosen).not.toHaveProperty('lockOrders');
    expect(consistent).toMatchObject({ verdict: 'pass', exhaustive: true });
    const replay = await vcpusim('replay', chosen.traceFile!);
    expect(replay.code).toBe(0);
    expect(replay.out).toContain('reproduced');
  });

  it('sampling finds them too, the same on 1 and 2 workers; --no-check lock-order passes', async () => {
    const args = ['check', `${FIXTURE}:chosen`, '--json', '--strategy', 'random', '--max-schedules', '200'];
    const [one, two, off] = await Promise.all([
      vcpusim(...args, '--workers', '1'),
      vcpusim(...args, '--workers', '2'),
      vcpusim('check', `${FIXTURE}:chosen`, '--json', '--strategy', 'dpor', '--no-check', 'lock-order'),
    ]);
    const a = timeless(one);
    expect(timeless(two)).toEqual(a);
    expect(a.results[0]).toMatchObject({ verdict: 'bug', kind: 'lock-order', witnesses: 1 });
    expect(timeless(off).results[0]).toMatchObject({ verdict: 'pass', exhaustive: true });
  });
});
