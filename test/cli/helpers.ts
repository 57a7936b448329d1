import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { Io } from '../../src/cli/io.ts';
import { main } from '../../src/cli/main.ts';
import type { CheckReport, VariantReport } from '../../src/report/variant-report.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/bad/${name}`, import.meta.url));

/** Runs the CLI in-process, capturing what it prints. */
export async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (l) => out.push(l), err: (l) => err.push(l), errRaw: () => {}, isTTY: false };
  const code = await main(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** Runs the real `vcpusim` binary, as a user would. */
export function bin(...argv: string[]) {
  const r = spawnSync(process.execPath, [`${ROOT}bin/vcpusim.js`, ...argv], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

export interface Ran {
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
}

/** Runs the real `vcpusim` binary in `cwd` without blocking, so that several can run at once. */
export function binIn(cwd: string, ...argv: string[]): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`${ROOT}bin/vcpusim.js`, ...argv], { cwd });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

/** A `--json` report with the one field that depends on the clock removed (and no stack trace printed). */
export function timeless(r: { readonly out: string; readonly err: string }): CheckReport {
  expect(r.err).not.toMatch(/internal error|\n\s+at /);
  const doc = JSON.parse(r.out) as CheckReport;
  return {
    ...doc,
    results: doc.results.map((v) => {
      const { elapsedMs, ...rest } = v;
      expect(elapsedMs).toBeGreaterThanOrEqual(0);
      return rest as VariantReport;
    }),
  };
}
