import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckReport, VariantReport } from '../../src/report/variant-report.ts';
import { binIn, cli, type Ran, timeless } from './helpers.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vcpusim-parallel-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The real binary, run in the scratch directory. */
const vcpusim = (...argv: string[]) => binIn(dir, ...argv);

/** No time limit in practice: results must not depend on how fast the machine is. */
const NO_BUDGET = ['--budget', '10m'];

let unsharded: Promise<[Ran, Ran]> | undefined;
/** `check mmio-split` on 1 and on 2 workers, started once and shared by the tests below. */
const checkAll = () =>
  (unsharded ??= Promise.all([
    vcpusim('check', 'mmio-split', '--json', '--workers', '1', ...NO_BUDGET),
    vcpusim('check', 'mmio-split', '--json', '--workers', '2', ...NO_BUDGET),
  ]));

describe('the number of workers does not change the results', () => {
  it('check mmio-split --json: --workers 1 and --workers 2 give identical reports, elapsedMs aside', async () => {
    const [one, two] = await checkAll();
    expect(one.code).toBe(0);
    expect(two.code).toBe(0);
    const a = timeless(one);
    const b = timeless(two);
    expect(a.results.map((r) => r.variant)).toEqual([
      'no-cache',
      'pre-fix',
      'fixed',
      'ram-to-mmio',
      'mmio-to-ram',
      'descriptor-table',
    ]);
    // Field by field first, for a readable failure; then everything.
    const pick = (r: VariantReport) => ({
      variant: r.variant,
      verdict: r.verdict,
      exhaustive: r.exhaustive,
      schedules: r.schedules,
      classes: r.classes,
      blocked: r.blocked,
      steps: r.steps,
      traceHash: r.traceHash,
      execution: r.execution,
      length: r.length,
    });
    expect(b.results.map(pick)).toEqual(a.results.map(pick));
    expect(b).toEqual(a);
    const fixed = a.results.find((r) => r.variant === 'fixed')!;
    expect(fixed.exhaustive).toBe(true);
    expect(fixed.schedules).toBeGreaterThan(100);
    for (const r of a.results.filter((x) => x.expect === 'bug')) {
      expect(r.verdict).toBe('bug');
      expect(r.traceHash).toMatch(/^[0-9a-f]{16}$/);
      expect(r.execution).toBeGreaterThanOrEqual(0);
    }
  });

  it('--strategy random --max-schedules 50: the same on 1 and 2 workers', async () => {
    const args = [
      'check',
      'mmio-split',
      '--json',
      '--strategy',
      'random',
      '--max-schedules',
      '50',
      ...NO_BUDGET,
    ];
    const [one, two] = await Promise.all([
      vcpusim(...args, '--workers', '1'),
      vcpusim(...args, '--workers', '2'),
    ]);
    expect(one.code).toBe(0);
    expect(two.code).toBe(0);
    const a = timeless(one);
    expect(timeless(two)).toEqual(a);
    for (const r of a.results) {
      expect(r.strategy).toBe('random');
      if (r.verdict === 'pass') expect(r.schedules).toBe(50);
      else expect(r.traceHash).toMatch(/^[0-9a-f]{16}$/);
    }
  });
});

describe('shards and merge', () => {
  let shards: Promise<{ files: string[]; reports: CheckReport[] }> | undefined;
  /** `check mmio-split:fixed --shard 1/2` and `2/2`, their reports saved to files. */
  const runShards = () =>
    (shards ??= (async () => {
      const ran = await Promise.all(
        [1, 2].map((i) =>
          vcpusim('check', 'mmio-split:fixed', '--json', '--workers', '1', '--shard', `${i}/2`, ...NO_BUDGET),
        ),
      );
      const files = ran.map((r, i) => {
        expect(r.code).toBe(0);
        const file = join(dir, `shard-${i + 1}.json`);
        writeFileSync(file, r.out);
        return file;
      });
      return { files, reports: ran.map((r) => JSON.parse(r.out) as CheckReport) };
    })());

  it('each shard reports its part, exhaustive, with a share of the schedules', async () => {
    const { reports } = await runShards();
    reports.forEach((report, i) => {
      expect(report.results).toHaveLength(1);
      const r = report.results[0];
      expect(r.shard).toEqual({ index: i + 1, count: 2 });
      expect(r.verdict).toBe('pass');
      expect(r.exhaustive).toBe(true);
      expect(r.schedules).toBeGreaterThan(0);
    });
  });

  it('merging both gives pass, exhaustive, and the unsharded classes', async () => {
    const [{ files }, [one]] = await Promise.all([runShards(), checkAll()]);
    const whole = timeless(one).results.find((r) => r.variant === 'fixed')!;
    const m = await vcpusim('merge', files[0], files[1], '--json');
    expect(m.err).toBe('');
    expect(m.code).toBe(0);
    const doc = JSON.parse(m.out) as CheckReport;
    expect(doc.ok).toBe(true);
    expect(doc.exitCode).toBe(0);
    expect(doc.results).toHaveLength(1);
    const r = doc.results[0];
    expect(r.variant).toBe('fixed');
    expect(r.verdict).toBe('pass');
    expect(r.ok).toBe(true);
    expect(r.exhaustive).toBe(true);
    expect(r.shards).toEqual({ count: 2, merged: 2 });
    expect(r.shard).toBeUndefined();
    // The same classes; the split may add blocked executions, which count as schedules.
    expect(r.classes).toBe(whole.classes);
    expect(r.schedules).toBe((r.classes ?? 0) + (r.blocked ?? 0));
    expect(r.schedules).toBeGreaterThanOrEqual(whole.schedules);
    // Distinct states cannot be summed over shards (they share states): not reported.
    expect(r.states).toBeUndefined();
    // The order of the files does not matter.
    const back = await cli('merge', files[1], files[0], '--json');
    expect(back.code).toBe(0);
    expect(timeless(back)).toEqual(timeless(m));
  });

  it('merging one shard of two warns about the missing one, is not exhaustive, and exits non-zero', async () => {
    const { files } = await runShards();
    const m = await vcpusim('merge', files[0], '--json');
    expect(m.code).not.toBe(0);
    expect(m.code).toBe(1);
    expect(`${m.out}\n${m.err}`).toMatch(/mmio-split:fixed: missing shard 2\/2/);
    expect(m.err).not.toMatch(/\n\s+at /);
    // The report itself (whatever else is printed after it).
    const doc = JSON.parse(m.out.slice(0, m.out.lastIndexOf('}') + 1)) as CheckReport;
    expect(doc.ok).toBe(false);
    expect(doc.exitCode).toBe(1);
    expect(doc.results[0].exhaustive).toBe(false);
    expect(doc.results[0].shards).toEqual({ count: 2, merged: 1 });
    // Without --json: the same warning and exit code.
    const text = await cli('merge', files[1]);
    expect(text.code).toBe(1);
    expect(`${text.out}\n${text.err}`).toMatch(/missing shard 1\/2/);
  });

  it('merge --json keeps stdout one JSON document when it warns (the warning goes to stderr)', async () => {
    const { files } = await runShards();
    const m = await vcpusim('merge', files[0], '--json');
    expect(() => JSON.parse(m.out), `stdout of merge --json:\n${m.out.slice(-200)}`).not.toThrow();
    expect(m.err).toMatch(/missing shard 2\/2/);
  });

  it('a shard given twice, or shards of different counts, are usage errors naming them', async () => {
    const { files, reports } = await runShards();
    const three = join(dir, 'shard-of-3.json');
    const r = reports[0].results[0];
    writeFileSync(
      three,
      JSON.stringify({ ...reports[0], results: [{ ...r, shard: { index: 3, count: 3 } }] }),
    );
    const [twice, mixed] = await Promise.all([
      cli('merge', files[0], files[0], '--json'),
      cli('merge', files[0], three, '--json'),
    ]);
    expect(twice.code).toBe(2);
    expect(twice.err).toMatch(/shard 1\/2 appears twice/);
    expect(twice.out).toBe('');
    expect(mixed.code).toBe(2);
    expect(mixed.err).toMatch(/different shard counts/);
    for (const x of [twice, mixed]) expect(x.err).not.toMatch(/\n\s+at /);
  });

  it('a bug in any shard makes the merged verdict a bug', async () => {
    const { files, reports } = await runShards();
    const r = reports[1].results[0];
    const buggy = join(dir, 'shard-2-bug.json');
    writeFileSync(
      buggy,
      JSON.stringify({
        ...reports[1],
        results: [{ ...r, verdict: 'bug', ok: false, kind: 'assertion', message: 'boom', exhaustive: false }],
      }),
    );
    const m = await cli('merge', files[0], buggy, '--json');
    expect(m.code).toBe(1);
    const v = (JSON.parse(m.out) as CheckReport).results[0];
    expect(v.verdict).toBe('bug');
    expect(v.message).toBe('boom');
    expect(v.ok).toBe(false);
    expect(v.exhaustive).toBe(false);
  });

  it('a file that is not JSON, is missing, or is not a report: exit 2, naming the file, no stack', async () => {
    const garbage = join(dir, 'garbage.txt');
    writeFileSync(garbage, 'this is not json\n');
    const other = join(dir, 'other.json');
    writeFileSync(other, '{"hello": 1}\n');
    const missing = join(dir, 'no-such-report.json');
    const { files } = await runShards();
    const runs = await Promise.all([
      vcpusim('merge', files[0], garbage, '--json'),
      vcpusim('merge', missing),
      cli('merge', other, '--json'),
    ]);
    const expected = [
      [garbage, /not JSON/],
      [missing, /cannot read \(ENOENT\)/],
      [other, /not a vcpusim check --json report/],
    ] as const;
    runs.forEach((r, i) => {
      const [file, why] = expected[i];
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toContain(file);
      expect(r.err).toMatch(why);
      expect(r.err).toMatch(/^vcpusim: /);
      expect(r.err).not.toMatch(/\n\s+at |internal error/);
    });
  });

  it('the not-JSON error is one line even when the file ends with a newline', async () => {
    const garbage = join(dir, 'garbage-line.txt');
    writeFileSync(garbage, 'this is not json\n');
    const r = await cli('merge', garbage);
    expect(r.code).toBe(2);
    // JSON.parse quotes the text, newline included, into its message.
    expect(r.err.trim().split('\n'), r.err).toHaveLength(1);
  });
});
