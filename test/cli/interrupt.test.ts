/**
 * Ctrl-C (DESIGN §3): the first SIGINT stops the exploration after the current
 * execution and reports what was found so far, marked interrupted, with exit code 130.
 * The real binary is spawned on a run far too long to finish, signalled once it is
 * exploring, and must exit promptly with one JSON document on stdout.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckReport, VariantReport } from '../../src/report/variant-report.ts';
import { ROOT } from './helpers.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vcpusim-interrupt-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** CPU seconds a process has used (Linux /proc), or undefined where that cannot be read. */
function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

interface Interrupted {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly out: string;
  readonly err: string;
  /** Milliseconds from the SIGINT to the exit. */
  readonly exitAfterMs: number;
}

/**
 * Spawns `vcpusim ...argv`, waits until it has been running for `startMs` and has used
 * enough CPU to be past loading (it installs its SIGINT handler before it explores),
 * sends SIGINT once, and collects what it prints.
 */
async function interrupt(argv: readonly string[], startMs = 2500): Promise<Interrupted> {
  const child = spawn(process.execPath, [`${ROOT}bin/vcpusim.js`, ...argv], { cwd: dir });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  const killer = setTimeout(() => child.kill('SIGKILL'), 50_000);
  try {
    const started = performance.now();
    await sleep(startMs);
    // On a loaded machine, give it until it has done a second of work (at most 20 s more).
    while (performance.now() - started < startMs + 20_000 && (cpuSeconds(child.pid!) ?? 99) < 1.5) {
      await sleep(100);
    }
    expect(child.exitCode, `exited before the signal: ${err}`).toBeNull();
    const signalled = performance.now();
    child.kill('SIGINT');
    const { code, signal } = await exited;
    return { code, signal, out, err, exitAfterMs: performance.now() - signalled };
  } finally {
    clearTimeout(killer);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

/** The report: one JSON document, the last result interrupted, any before it complete. */
function expectInterruptedReport(r: Interrupted, strategy: string): VariantReport {
  expect(r.signal, r.err).toBeNull();
  expect(r.code, r.err).toBe(130);
  expect(r.err).toMatch(/interrupted: finishing the current execution/);
  expect(r.err).not.toMatch(/\n\s+at |internal error/);
  // One JSON document, nothing else.
  const doc = JSON.parse(r.out) as CheckReport;
  expect(doc.interrupted).toBe(true);
  expect(doc.results.length).toBeGreaterThanOrEqual(1);
  for (const done of doc.results.slice(0, -1)) {
    expect(done.interrupted).toBe(false);
    expect(done.exhaustive).toBe(true);
  }
  const v = doc.results[doc.results.length - 1];
  expect(v.variant).toBe('fixed');
  expect(v.strategy).toBe(strategy);
  expect(v.interrupted).toBe(true);
  expect(v.stoppedBy).toBe('interrupted');
  expect(v.exhaustive).toBe(false);
  expect(v.verdict).toBe('pass');
  expect(v.schedules).toBeGreaterThan(0);
  expect(v.schedules).toBeLessThan(1_000_000);
  expect(v.steps).toBeGreaterThan(0);
  // It stops after the current execution, not at the end of the budget.
  expect(r.exitAfterMs).toBeLessThan(5000);
  expect(v.elapsedMs).toBeLessThan(30_000);
  return v;
}

describe('SIGINT during check', () => {
  it('in process (--workers 1, random): exit 130 and the report so far, marked interrupted', async () => {
    const r = await interrupt([
      'check',
      'mmio-split:fixed',
      '--strategy',
      'random',
      '--max-schedules',
      '1000000',
      '--budget',
      '60s',
      '--json',
      '--workers',
      '1',
    ]);
    const v = expectInterruptedReport(r, 'random');
    expect((JSON.parse(r.out) as CheckReport).results).toHaveLength(1);
    expect(v.classes).toBeUndefined();
  });

  it('on a worker pool (--workers 2, the exhaustive search): the same, and the pool does not hold it up', async () => {
    const r = await interrupt(
      ['check', 'mmio-split:fixed', '--budget', '60s', '--json', '--workers', '2'],
      2000,
    );
    expectInterruptedReport(r, 'portfolio');
    const v = (JSON.parse(r.out) as CheckReport).results[0];
    expect(v.classes).toBeGreaterThan(0);
  });
});
