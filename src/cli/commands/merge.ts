import { existsSync, readFileSync } from 'node:fs';
import { counterexample } from '../../explore/counterexample.ts';
import { ModelError, UsageError } from '../../model/errors.ts';
import { type MergedInversion, mergeReports } from '../../report/merge.ts';
import type { CheckReport, VariantReport } from '../../report/variant-report.ts';
import { instantiate, type ScenarioInstance } from '../../scenario/instance.ts';
import { loadScenarioFile, resolveScenario } from '../../scenario/load.ts';
import type { Io } from '../io.ts';

/** `vcpusim merge A.json B.json ...`: one verdict from the shards' reports. */
export async function mergeCommand(files: readonly string[], json: boolean, io: Io): Promise<number> {
  const out = io.out;
  const inputs = files.map((file) => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new UsageError(
        `${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      );
    }
    try {
      return { file, report: JSON.parse(text) as CheckReport };
    } catch (e) {
      const why = (e as Error).message.split('\n')[0].replace(/, ".*$/, '');
      throw new UsageError(`${file}: not JSON (${why}); expected a vcpusim check --json report`);
    }
  });
  const merged = mergeReports(inputs);
  const { warnings } = merged;
  const report = { ...merged.report, results: [...merged.report.results] };
  // An inversion across shards: re-run its executions for a counterexample and a trace.
  for (const inv of merged.inversions) {
    const r = report.results[inv.index];
    report.results[inv.index] = { ...r, ...(await inversionTrace(r, inv)) };
  }
  if (json) out(JSON.stringify(report, null, 2));
  else {
    for (const r of report.results) {
      const counts = `${r.schedules} schedules${r.classes !== undefined ? `, ${r.classes} classes` : ''}`;
      const what =
        r.verdict === 'bug'
          ? `BUG ${r.kind}: ${r.message}`
          : r.verdict === 'error'
            ? `ERROR ${r.error?.message}`
            : 'pass';
      out(
        `${r.ok ? 'ok  ' : 'FAIL'} ${r.scenario}:${r.variant}  ${what}  (${counts}${r.exhaustive ? ', exhaustive' : ''})`,
      );
      if (r.witnesses)
        out(`      an inversion whose paths ran in different shards (${r.witnesses} witness(es))`);
      if (r.traceFile) out(`      trace: ${r.traceFile}  (vcpusim replay ${r.traceFile})`);
      if (r.traceError) out(`      trace not saved: ${r.traceError}`);
    }
  }
  // On stderr, so that stdout stays one JSON document.
  for (const w of warnings) io.err(`warning: ${w}`);
  return report.exitCode;
}

/** The counterexample of a lock-order inversion the shards close together, as report fields. */
async function inversionTrace(r: VariantReport, inv: MergedInversion): Promise<Partial<VariantReport>> {
  let instance: ScenarioInstance;
  try {
    const loaded =
      inv.file && existsSync(inv.file) ? await loadScenarioFile(inv.file) : await resolveScenario(r.scenario);
    instance = instantiate(loaded.scenario, r.variant, r.params, r.checkers);
  } catch (e) {
    if (!(e instanceof ModelError || e instanceof UsageError)) throw e;
    return { traceError: `cannot load scenario '${r.scenario}' to build the counterexample: ${e.message}` };
  }
  const c = counterexample(
    instance,
    inv.file,
    { bug: inv.bug, moves: inv.moves, witnesses: inv.witnesses, execution: -1 },
    { strategy: r.strategy, seed: r.seed, shards: r.shards },
    undefined,
  );
  const bug = c.again.bug ?? inv.bug;
  return {
    message: bug.message,
    actor: bug.actor,
    step: bug.step,
    culprits: bug.steps,
    length: c.again.steps,
    preemptions: c.small.preemptions,
    traceHash: c.again.traceHash,
    witnesses: c.witnesses?.length ?? 0,
    ...(c.traceFile ? { traceFile: c.traceFile } : {}),
    ...(c.traceError ? { traceError: c.traceError } : {}),
  };
}
