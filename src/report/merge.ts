import { UsageError } from '../model/errors.ts';
import { VERSION } from '../version.ts';
import type { CheckReport, VariantReport } from './variant-report.ts';

/**
 * Joins the `check --json` reports of the shards of one run (`--shard i/n` on n CI jobs)
 * into one verdict per variant (DESIGN §2, "Exploration"): a bug if any shard found one
 * (the lowest shard's), counts summed, exhaustive only when all n shards are present and
 * each was. A missing or repeated shard is named, and the variant is then not exhaustive.
 */
export function mergeReports(inputs: readonly { file: string; report: CheckReport }[]): {
  report: CheckReport;
  warnings: string[];
} {
  const groups = new Map<string, { file: string; r: VariantReport }[]>();
  for (const { file, report } of inputs) {
    if (!report || !Array.isArray(report.results)) {
      throw new UsageError(`${file}: not a vcpusim check --json report (no results array)`);
    }
    for (const r of report.results) {
      const key = `${r.scenario}:${r.variant}`;
      groups.set(key, [...(groups.get(key) ?? []), { file, r }]);
    }
  }
  const warnings: string[] = [];
  const results: VariantReport[] = [];
  for (const [key, parts] of groups) {
    const counts = new Set(parts.map((p) => p.r.shard?.count ?? 1));
    if (counts.size > 1)
      throw new UsageError(
        `${key}: the reports split it into different shard counts (${[...counts].join(', ')})`,
      );
    const count = [...counts][0];
    const seen = new Map<number, string>();
    for (const p of parts) {
      const i = p.r.shard?.index ?? 1;
      const dup = seen.get(i);
      if (dup) throw new UsageError(`${key}: shard ${i}/${count} appears twice (${dup} and ${p.file})`);
      seen.set(i, p.file);
    }
    const missing = [...Array(count).keys()].map((i) => i + 1).filter((i) => !seen.has(i));
    if (missing.length)
      warnings.push(
        `${key}: missing shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${count}`).join(', ')}`,
      );
    const sorted = parts.map((p) => p.r).sort((a, b) => (a.shard?.index ?? 1) - (b.shard?.index ?? 1));
    const error = sorted.find((r) => r.verdict === 'error');
    const bug = sorted.find((r) => r.verdict === 'bug');
    const first = error ?? bug ?? sorted[0];
    const sum = (f: (r: VariantReport) => number | undefined) =>
      sorted.some((r) => f(r) !== undefined) ? sorted.reduce((n, r) => n + (f(r) ?? 0), 0) : undefined;
    const verdict = error ? 'error' : bug ? 'bug' : 'pass';
    const merged: VariantReport = {
      ...first,
      shard: undefined,
      verdict,
      ok: verdict !== 'error' && verdict === first.expect,
      exhaustive: missing.length === 0 && sorted.every((r) => r.exhaustive),
      interrupted: sorted.some((r) => r.interrupted),
      schedules: sum((r) => r.schedules) ?? 0,
      classes: sum((r) => r.classes),
      blocked: sum((r) => r.blocked),
      // Shards reach common states: their distinct counts do not add up.
      states: undefined,
      steps: sum((r) => r.steps) ?? 0,
      elapsedMs: Math.max(...sorted.map((r) => r.elapsedMs)),
      shards: { count, merged: sorted.length },
    };
    results.push(JSON.parse(JSON.stringify(merged)));
  }
  const error = results.some((r) => r.verdict === 'error');
  const ok = results.every((r) => r.ok) && warnings.length === 0;
  return {
    report: { tool: { name: 'vcpusim', version: VERSION }, ok, exitCode: error ? 3 : ok ? 0 : 1, results },
    warnings,
  };
}
