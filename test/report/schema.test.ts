/**
 * The JSON report's schema (schema/check-report.schema.json, versioned by
 * `schemaVersion`): every kind of report the tool writes follows it, and it rejects
 * documents that break it (so the validation is not vacuous). The bundled scenarios'
 * report is validated in test/cli/json.test.ts.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPORT_SCHEMA_VERSION } from '../../src/report/variant-report.ts';
import { cli, fixture } from '../cli/helpers.ts';
import { accepts, SCHEMA, validReport } from './schema.ts';

const LOCK_PATHS = new URL('../fixtures/lock-paths.ts', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'vcpusim-schema-'));

describe('the JSON report schema', () => {
  it('is version 1, as the reports say', () => {
    expect(SCHEMA.$id).toBe(`urn:vcpusim:check-report:${REPORT_SCHEMA_VERSION}`);
  });

  it('covers bugs with witnesses, passes, errors, shards with lock orders and merged reports', async () => {
    const bugs = JSON.parse(
      (await cli('check', LOCK_PATHS, fixture('throws.ts'), '--json', '--workers', '1')).out,
    );
    expect(validReport(bugs)).toBe(true);
    expect(bugs.results.map((r: { verdict: string }) => r.verdict)).toEqual(['bug', 'pass', 'error']);
    expect(bugs.results[0].witnesses).toBe(1);

    const shards = await Promise.all(
      [1, 2].map(async (i) => {
        const r = await cli(
          'check',
          LOCK_PATHS,
          '--json',
          '--strategy',
          'dpor',
          '--shard',
          `${i}/2`,
          '--workers',
          '1',
        );
        const doc = JSON.parse(r.out);
        expect(validReport(doc)).toBe(true);
        const file = join(dir, `shard-${i}.json`);
        writeFileSync(file, r.out);
        return { doc, file };
      }),
    );
    expect(shards.some((s) => s.doc.results[0].lockOrders?.length > 0)).toBe(true);
    const merged = JSON.parse((await cli('merge', shards[0].file, shards[1].file, '--json')).out);
    expect(validReport(merged)).toBe(true);
  });

  it('rejects what breaks it: a missing field, an unknown verdict, an undocumented field, another version', () => {
    const good = {
      schemaVersion: 1,
      tool: { name: 'vcpusim', version: '0.1.0' },
      ok: true,
      exitCode: 0,
      results: [
        {
          scenario: 's',
          variant: 'v',
          expect: 'pass',
          verdict: 'pass',
          ok: true,
          exhaustive: true,
          interrupted: false,
          strategy: 'dpor',
          seed: 0,
          params: { n: 1 },
          schedules: 2,
          steps: 10,
          elapsedMs: 3,
        },
      ],
    };
    expect(accepts(good)).toBe(true);
    const variant = good.results[0];
    const { schedules: _, ...noSchedules } = variant;
    for (const bad of [
      { ...good, results: [noSchedules] },
      { ...good, results: [{ ...variant, verdict: 'maybe' }] },
      { ...good, results: [{ ...variant, surprise: 1 }] },
      { ...good, results: [{ ...variant, verdict: 'bug' }] },
      { ...good, results: [{ ...variant, verdict: 'error' }] },
      { ...good, schemaVersion: 2 },
      { ...good, exitCode: 2 },
    ])
      expect(accepts(bad), JSON.stringify(bad)).toBe(false);
  });
});
