import { describe, expect, it } from 'vitest';
import mmioSplit from '../../scenarios/mmio-split.ts';
import { check } from '../../src/index.ts';
import { bin, cli, fixture } from './helpers.ts';

/** One line on stderr, naming the culprit, and no stack trace. */
function expectOneLine(err: string, pattern: RegExp) {
  expect(err.trim().split('\n')).toHaveLength(1);
  expect(err).toMatch(pattern);
  expect(err).not.toMatch(/\n\s+at /);
}

describe('bad input: a clear one-line error and the exit code of DESIGN §3', () => {
  it('unknown scenario → 2', async () => {
    const r = await cli('check', 'no-such-scenario');
    expect(r.code).toBe(2);
    expectOneLine(r.err, /unknown scenario 'no-such-scenario'.*mmio-split/);
  });
  it('unknown variant → 2, listing the variants', async () => {
    const r = await cli('check', 'mmio-split:nope');
    expect(r.code).toBe(2);
    expectOneLine(r.err, /no variant 'nope'.*pre-fix/);
    const run = await cli('run', 'mmio-split:nope');
    expect(run.code).toBe(2);
  });
  it('unknown option, parameter or command → 2', async () => {
    expect((await cli('check', '--frobnicate')).code).toBe(2);
    expect((await cli('check', 'mmio-split', '--param', 'nope=1')).code).toBe(2);
    expect((await cli('check', 'mmio-split', '--param', 'build=fast')).code).toBe(2);
    expect((await cli('check', '--max-schedules', 'lots')).code).toBe(2);
    expect((await cli('check', '--budget', 'soon')).code).toBe(2);
    expect((await cli('check', '--strategy', 'magic')).code).toBe(2);
    expect((await cli('explode')).code).toBe(2);
  });
  it('a scenario file that throws → 3, naming the file', async () => {
    const r = await cli('check', fixture('throws.ts'));
    expect(r.code).toBe(3);
    expect(r.out).toMatch(/throws\.ts: the scenario module failed to load: boom while loading/);
  });
  it('a scenario file that exports nothing valid → 3', async () => {
    const r = await cli('run', fixture('nothing.ts'));
    expect(r.code).toBe(3);
    expectOneLine(r.err, /nothing\.ts: the module does not default-export a scenario/);
  });
  const modelErrors: [string, RegExp][] = [
    ['unknown-op.ts', /actor 'worker' emitted 'frobnicate'.*not a vcpusim operation/],
    ['unknown-actor.ts', /actor 'worker' sends 'ping' to unknown actor 'qemu'/],
    ['out-of-bounds.ts', /actor 'worker' reads 0x9000\/4: address 0x9000 is outside the guest memory/],
    ['runaway.ts', /actor 'worker' ran past the step bound of 50 steps \(in state 'spin'/],
    ['throws-in-action.ts', /actor 'worker' threw in state 'a' handling completion at step 1: kaboom/],
    ['random.ts', /not deterministic: .* at step 2 \(worker: write 0x/],
  ];
  for (const [file, pattern] of modelErrors) {
    it(`${file} → 3 with the actor and step named`, async () => {
      const r = await cli('run', fixture(file));
      expect(r.code).toBe(3);
      expectOneLine(r.err, pattern);
      const c = await cli('check', fixture(file), '--max-schedules', '5');
      expect(c.code).toBe(3);
      expect(c.out).toMatch(pattern);
    });
  }
  it('results already found are kept when a later scenario fails to load', async () => {
    const r = await cli('check', 'mmio-split:descriptor-table', fixture('throws.ts'));
    expect(r.code).toBe(3);
    expect(r.out).toMatch(/ok {3}mmio-split:descriptor-table {2}BUG/);
    expect(r.out).toMatch(/ERROR .*throws\.ts/);
  });
  it('an unwritable trace file: run fails with 2; check keeps the bug and says why', async () => {
    const r = await cli('run', 'mmio-split:pre-fix', '--trace', '/dev/null/t.json');
    expect(r.code).toBe(2);
    expectOneLine(r.err, /\/dev\/null\/t\.json: cannot write the trace file/);
    const report = await check(mmioSplit, { variants: ['pre-fix'], traceDir: '/dev/null/traces' });
    expect(report.results[0].verdict).toBe('bug');
    expect(report.results[0].traceFile).toBeUndefined();
    expect(report.results[0].traceError).toMatch(/cannot write the trace file/);
  });
  it('the real binary exits with the code and prints no stack', () => {
    const r = bin('check', 'mmio-split:nope');
    expect(r.code).toBe(2);
    expectOneLine(r.err, /no variant 'nope'/);
    const m = bin('run', fixture('unknown-actor.ts'));
    expect(m.code).toBe(3);
    expectOneLine(m.err, /unknown actor 'qemu'/);
  });
});
