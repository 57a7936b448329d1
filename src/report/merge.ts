import { type InversionAcross, LockOrderAcross } from '../checkers/lock-order-across.ts';
import { UsageError } from '../model/errors.ts';
import { VERSION } from '../version.ts';
import { type CheckReport, REPORT_SCHEMA_VERSION, type VariantReport } from './variant-report.ts';

/**
 * Joins the `check --json` reports of the shards of one run (`--shard i/n` on n CI jobs)
 * into one verdict per variant (DESIGN §2, "Exploration"): a bug if any shard found one
 * (the lowest shard's), counts summed, exhaustive only when all n shards are present and
 * each was. A missing or repeated shard is named, and the variant is then not exhaustive.
 * When no shard found a bug, their lock orders meet in one graph across executions, in
 * shard order: an inversion whose paths ran in different shards is a bug (`inversions`
 * says which, for the caller to build its counterexample).
 */
export function mergeReports(inputs: readonly { file: string; report: CheckReport }[]): {
  report: CheckReport;
  warnings: string[];
  inversions: MergedInversion[];
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
  const inversions: MergedInversion[] = [];
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
    const { lockOrders: _, file: scenarioFile, ...firstRest } = first;
    const inversion = verdict === 'pass' ? acrossShards(sorted) : undefined;
    const merged: VariantReport = {
      ...firstRest,
      shard: undefined,
      verdict: inversion ? 'bug' : verdict,
      ok: verdict !== 'error' && (inversion ? 'bug' : verdict) === first.expect,
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
      ...(inversion
        ? {
            stoppedBy: 'bug',
            kind: inversion.bug.kind,
            message: inversion.bug.message,
            actor: inversion.bug.actor,
            step: inversion.bug.step,
            culprits: inversion.bug.steps,
            witnesses: inversion.witnesses.length,
          }
        : {}),
    };
    if (inversion) {
      inversions.push({
        index: results.length,
        file: scenarioFile,
        moves: inversion.moves,
        bug: inversion.bug,
        witnesses: inversion.witnesses,
      });
    }
    results.push(JSON.parse(JSON.stringify(merged)));
  }
  const error = results.some((r) => r.verdict === 'error');
  const ok = results.every((r) => r.ok) && warnings.length === 0;
  return {
    report: {
      schemaVersion: REPORT_SCHEMA_VERSION,
      tool: { name: 'vcpusim', version: VERSION },
      ok,
      exitCode: error ? 3 : ok ? 0 : 1,
      results,
    },
    warnings,
    inversions,
  };
}

/** A lock-order inversion the shards' orders close together, and where its counterexample comes from. */
export interface MergedInversion {
  /** Its variant's place in the merged results. */
  readonly index: number;
  /** The scenario module the shards checked. */
  readonly file?: string;
  /** The execution that recorded the closing order. */
  readonly moves: readonly string[];
  readonly bug: InversionAcross['bug'];
  readonly witnesses: InversionAcross['witnesses'];
}

/** The shards' lock orders in one graph, shard 1's first; the inversion they close, if any. */
function acrossShards(
  shards: readonly VariantReport[],
): (InversionAcross & { readonly moves: readonly string[] }) | undefined {
  const graph = new LockOrderAcross();
  // One array per schedule: the graph tells executions apart by their schedule's identity.
  const schedules = new Map<string, readonly string[]>();
  for (const r of shards) {
    for (const { schedule, ...edge } of r.lockOrders ?? []) {
      let moves = schedules.get(schedule);
      if (!moves) schedules.set(schedule, (moves = schedule === '' ? [] : schedule.split(' ')));
      const inv = graph.judge([edge], moves);
      if (inv) return { ...inv, moves };
    }
  }
  return undefined;
}
