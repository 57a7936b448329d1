/**
 * `vcpusim check` options (DESIGN §3): malformed or conflicting ones are usage errors
 * (exit 2, one clear line on stderr, no stack trace); the others run and say in the JSON
 * report what they did. Runs are in process with `--workers 1`, except where the real
 * binary's behaviour is the point.
 */
import { describe, expect, it } from 'vitest';
import type { CheckReport, VariantReport } from '../../src/report/variant-report.ts';
import { bin, cli } from './helpers.ts';

function expectUsageError(r: { code: number | null; out: string; err: string }, pattern: RegExp) {
  expect(r.code).toBe(2);
  expect(r.out).toBe('');
  expect(r.err.trim().split('\n')).toHaveLength(1);
  expect(r.err).toMatch(/^vcpusim: /);
  expect(r.err).toMatch(pattern);
  expect(r.err).not.toMatch(/\n\s+at |internal error/);
}

const USAGE_ERRORS: readonly [string, readonly string[], RegExp][] = [
  [
    '--shard 3/2 (index above the count)',
    ['--shard', '3/2'],
    /--shard: expected i\/n with 1 ≤ i ≤ n .*got '3\/2'/,
  ],
  ['--shard 0/2 (index 0)', ['--shard', '0/2'], /--shard: expected i\/n .*got '0\/2'/],
  ['--shard 1/0 (no shards)', ['--shard', '1/0'], /--shard: expected i\/n .*got '1\/0'/],
  ['--shard x (not i/n)', ['--shard', 'x'], /--shard: expected i\/n .*got 'x'/],
  ['--workers 0', ['--workers', '0'], /--workers: expected an integer ≥ 1, got '0'/],
  ['--workers -1', ['--workers=-1'], /--workers: expected an integer ≥ 1, got '-1'/],
  [
    '--strategy foo',
    ['--strategy', 'foo'],
    /--strategy foo: unknown \(strategies: portfolio, dpor, pct, random\)/,
  ],
  ['--pct-depth 2 without a strategy', ['--pct-depth', '2'], /--pct-depth applies to --strategy pct/],
  [
    '--pct-depth 2 with --strategy random',
    ['--strategy', 'random', '--pct-depth', '2'],
    /--pct-depth applies/,
  ],
  [
    '--pct-depth 0 with --strategy pct',
    ['--strategy', 'pct', '--pct-depth', '0'],
    /--pct-depth: expected an integer ≥ 1/,
  ],
  [
    '--preemptions 2 --shard 1/2',
    ['--preemptions', '2', '--shard', '1/2'],
    /--preemptions cannot be combined with --shard/,
  ],
  [
    '--preemptions 1 --strategy pct',
    ['--preemptions', '1', '--strategy', 'pct'],
    /--preemptions bounds the exhaustive search/,
  ],
  ['--preemptions x', ['--preemptions', 'x'], /--preemptions: expected an integer ≥ 0, got 'x'/],
  ['--max-schedules 0', ['--max-schedules', '0'], /--max-schedules: expected an integer ≥ 1/],
];

describe('usage errors: exit 2, one clear line, no stack', () => {
  it.each(USAGE_ERRORS)('%s', async (_name, args, pattern) => {
    const r = await cli('check', 'mmio-split:fixed', '--json', ...args);
    expectUsageError(r, pattern);
  });

  it('the real binary: the same exit code and line, no stack', () => {
    expectUsageError(bin('check', 'mmio-split:fixed', '--shard', '3/2'), /--shard: expected i\/n/);
    expectUsageError(
      bin('check', 'mmio-split:fixed', '--preemptions', '2', '--shard', '1/2'),
      /--preemptions cannot be combined with --shard/,
    );
  });

  it('--shard 1/1 is the whole search, not an error', async () => {
    const r = await cli('check', 'mmio-split:ram-to-mmio', '--json', '--workers', '1', '--shard', '1/1');
    expect(r.code).toBe(0);
    const v = (JSON.parse(r.out) as CheckReport).results[0];
    expect(v.exhaustive).toBe(true);
    expect(v.shard).toEqual({ index: 1, count: 1 });
  });
});

async function check(...args: string[]): Promise<{ code: number; report: CheckReport; err: string }> {
  const r = await cli('check', '--json', '--workers', '1', ...args);
  expect(r.err).not.toMatch(/\n\s+at |internal error/);
  return { code: r.code, report: JSON.parse(r.out) as CheckReport, err: r.err };
}

const only = (report: CheckReport, variant: string): VariantReport => {
  const v = report.results.find((r) => r.variant === variant);
  expect(v, `a result for ${variant}`).toBeDefined();
  return v!;
};

describe('strategies run and report what they did', () => {
  it('--strategy pct --pct-depth 2: sampled, not exhaustive, no class counts', async () => {
    const { code, report } = await check(
      'mmio-split:fixed',
      '--strategy',
      'pct',
      '--pct-depth',
      '2',
      '--max-schedules',
      '20',
    );
    expect(code).toBe(0);
    const v = only(report, 'fixed');
    expect(v.strategy).toBe('pct');
    expect(v.verdict).toBe('pass');
    expect(v.exhaustive).toBe(false);
    expect(v.stoppedBy).toBe('max-schedules');
    expect(v.schedules).toBe(20);
    expect(v.classes).toBeUndefined();
    expect(v.preemptionBound).toBeUndefined();
  });

  it('--strategy random: sampled, not exhaustive', async () => {
    const { code, report } = await check('mmio-split:fixed', '--strategy', 'random', '--max-schedules', '20');
    expect(code).toBe(0);
    const v = only(report, 'fixed');
    expect(v.strategy).toBe('random');
    expect(v.exhaustive).toBe(false);
    expect(v.schedules).toBe(20);
    expect(v.classes).toBeUndefined();
  });

  it('--strategy dpor: exhaustive where the space is covered, classes counted, not otherwise', async () => {
    const { code, report } = await check(
      'mmio-split:ram-to-mmio',
      'mmio-split:fixed',
      '--strategy',
      'dpor',
      '--max-schedules',
      '20',
    );
    expect(code).toBe(0);
    const small = only(report, 'ram-to-mmio');
    expect(small.strategy).toBe('dpor');
    expect(small.exhaustive).toBe(true);
    expect(small.stoppedBy).toBe('exhausted');
    expect(small.classes).toBe(small.schedules - (small.blocked ?? 0));
    const big = only(report, 'fixed');
    expect(big.strategy).toBe('dpor');
    expect(big.exhaustive).toBe(false);
    expect(big.stoppedBy).toBe('max-schedules');
    expect(big.schedules).toBe(20);
    expect(big.classes).toBeGreaterThan(0);
  });

  it('--preemptions 1: the bounded search, with the bound it reached', async () => {
    const { code, report } = await check(
      'mmio-split:ram-to-mmio',
      'mmio-split:fixed',
      '--preemptions',
      '1',
      '--max-schedules',
      '20',
    );
    expect(code).toBe(0);
    for (const v of report.results) {
      expect(v.strategy).toBe('preemption-bounded');
      // No partial-order reduction: executions are not classes.
      expect(v.classes).toBeUndefined();
      expect(v.preemptionBound).toBeGreaterThanOrEqual(0);
      expect(v.preemptionBound).toBeLessThanOrEqual(1);
    }
    // One vCPU: no schedule can preempt anything, so level 0 covers the space.
    const small = only(report, 'ram-to-mmio');
    expect(small.exhaustive).toBe(true);
    expect(small.preemptionBound).toBe(0);
    // The states it reached are counted (regression: they were 0 before 201e176).
    expect(small.states).toBeGreaterThan(0);
    // Two vCPUs: level 0 alone has more than 20 schedules.
    const big = only(report, 'fixed');
    expect(big.exhaustive).toBe(false);
    expect(big.stoppedBy).toBe('max-schedules');
    expect(big.schedules).toBe(20);
  });

  it('--preemptions 0 on a bug that needs no preemption finds it within the bound', async () => {
    const { code, report } = await check('mmio-split:descriptor-table', '--preemptions', '0');
    expect(code).toBe(0);
    const v = only(report, 'descriptor-table');
    expect(v.verdict).toBe('bug');
    expect(v.preemptionBound).toBe(0);
    expect(v.preemptions).toBe(0);
    expect(v.found?.preemptions).toBe(0);
  });
});

const BUG_VARIANTS = ['no-cache', 'pre-fix', 'descriptor-table'];

describe.each(['dpor', 'pct', 'random', 'portfolio'])(
  '--strategy %s finds every bug variant of mmio-split',
  (strategy) => {
    it('each bug variant: verdict bug (as expected), with a shrunk counterexample no longer than found', async () => {
      const { code, report } = await check(
        ...BUG_VARIANTS.map((v) => `mmio-split:${v}`),
        '--strategy',
        strategy,
      );
      expect(code).toBe(0);
      expect(report.ok).toBe(true);
      expect(report.results.map((r) => r.variant)).toEqual(BUG_VARIANTS);
      for (const v of report.results) {
        expect(v.expect).toBe('bug');
        expect(v.verdict, `${v.variant} under ${strategy}`).toBe('bug');
        expect(v.ok).toBe(true);
        expect(v.strategy).toBe(strategy);
        expect(v.stoppedBy).toBe('bug');
        expect(v.kind).toMatch(/^(invariant|assertion)$/);
        expect(v.length).toBeGreaterThan(0);
        expect(v.preemptions).toBeGreaterThanOrEqual(0);
        expect(v.found).toEqual({ length: expect.any(Number), preemptions: expect.any(Number) });
        expect(v.length).toBeLessThanOrEqual(v.found!.length);
        // The bug is seen at the last step of the shrunk schedule.
        expect(v.step).toBe(v.length);
        expect(v.execution).toBeLessThan(v.schedules);
        expect(v.traceHash).toMatch(/^[0-9a-f]{16}$/);
      }
    });
  },
);
