import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckerOptions } from '../../checkers/settings.ts';
import { type CheckEvent, type CheckOptions, STRATEGIES, type StrategyName } from '../../explore/check.ts';
import {
  type CheckTarget,
  checkTargets$,
  type FailedTarget,
  summarize,
} from '../../explore/check-targets.ts';
import { defaultWorkers } from '../../explore/worker-pool.ts';
import { ModelError, UsageError } from '../../model/errors.ts';
import { type Counterexample, formatCounterexample } from '../../report/counterexample.ts';
import { annotations, stepSummary } from '../../report/github-actions.ts';
import { htmlReport, reportVariant } from '../../report/html-report.ts';
import { junitXml } from '../../report/junit.ts';
import type { VariantReport } from '../../report/variant-report.ts';
import type { Bug } from '../../runtime/step.ts';
import { parseParams, type ScenarioInstance } from '../../scenario/instance.ts';
import { loadBundled, resolveScenario, splitTarget } from '../../scenario/load.ts';
import { VERSION } from '../../version.ts';
import type { Io } from '../io.ts';
import { ProgressLine } from '../progress-line.ts';

export interface CheckArgs {
  readonly targets: readonly string[];
  readonly strategy?: string;
  readonly maxSchedules?: number;
  readonly budgetMs?: number;
  readonly workers?: number;
  readonly shard?: { readonly index: number; readonly count: number };
  readonly preemptions?: number;
  readonly pctDepth?: number;
  readonly seed?: number;
  readonly params: readonly string[];
  /** From `--no-check`: the checkers turned off. */
  readonly checkers?: CheckerOptions;
  readonly json: boolean;
  /** `--junit FILE`: also write the results as JUnit XML. */
  readonly junit?: string;
  /** `--coverage`: record the transitions the executions take. */
  readonly coverage?: boolean;
  /** `--report DIR`: write the HTML report there (records coverage too). */
  readonly report?: string;
}

async function resolveTargets(a: CheckArgs): Promise<(CheckTarget | FailedTarget)[]> {
  if (a.targets.length === 0) {
    const { scenarios, errors } = await loadBundled();
    return [
      ...scenarios.map((l) => ({
        scenario: l.scenario,
        file: l.file,
        params: parseParams(l.scenario, a.params),
      })),
      ...errors.map((error) => ({ name: error.message.split(':')[0], error })),
    ];
  }
  const out: (CheckTarget | FailedTarget)[] = [];
  for (const t of a.targets) {
    const { ref, variant } = splitTarget(t);
    try {
      const l = await resolveScenario(ref);
      if (variant && !l.scenario.variants[variant]) {
        throw new UsageError(
          `scenario '${l.scenario.name}' has no variant '${variant}' (it has: ${Object.keys(l.scenario.variants).join(', ')})`,
        );
      }
      out.push({ scenario: l.scenario, file: l.file, variant, params: parseParams(l.scenario, a.params) });
    } catch (e) {
      if (e instanceof ModelError) out.push({ name: ref, error: e });
      else throw e;
    }
  }
  return out;
}

/** `vcpusim check`: explore each variant and compare the verdict with its `expect`. */
export async function checkCommand(a: CheckArgs, io: Io): Promise<number> {
  if (a.strategy !== undefined && !STRATEGIES.includes(a.strategy as StrategyName)) {
    throw new UsageError(`--strategy ${a.strategy}: unknown (strategies: ${STRATEGIES.join(', ')})`);
  }
  if (a.pctDepth !== undefined && a.strategy !== 'pct') {
    throw new UsageError('--pct-depth applies to --strategy pct (portfolio rotates depths 1 to 3 itself)');
  }
  if (a.preemptions !== undefined && a.shard && a.shard.count > 1) {
    throw new UsageError('--preemptions cannot be combined with --shard');
  }
  if (a.preemptions !== undefined && a.strategy !== undefined && a.strategy !== 'dpor') {
    throw new UsageError(
      '--preemptions bounds the exhaustive search: use it with --strategy dpor (or alone)',
    );
  }
  const targets = await resolveTargets(a);
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130);
    io.err(
      '\ninterrupted: finishing the current execution and reporting what was found (Ctrl-C again to quit now)',
    );
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  const options: CheckOptions = {
    strategy: a.strategy as StrategyName | undefined,
    maxSchedules: a.maxSchedules,
    budgetMs: a.budgetMs,
    workers: a.workers ?? defaultWorkers(),
    shard: a.shard,
    preemptions: a.preemptions,
    pctDepth: a.pctDepth,
    seed: a.seed,
    signal: controller.signal,
    checkers: a.checkers,
    coverage: a.coverage || a.report !== undefined,
    progressMs: io.isTTY ? 250 : 10_000,
  };
  const showTraces = a.targets.length > 0;
  const progress = new ProgressLine(io);
  const reports: VariantReport[] = [];
  const bugs = new Map<string, Counterexample>();
  const instances = new Map<string, ScenarioInstance>();
  const bugOf = new Map<string, Bug>();
  try {
    await new Promise<void>((resolve, reject) => {
      checkTargets$(targets, options).subscribe({
        next: (e: CheckEvent) => {
          if (e.type === 'progress') progress.update(e.progress);
          else if (e.type === 'start')
            instances.set(`${e.instance.scenario.name}:${e.instance.variant}`, e.instance);
          else if (e.type === 'bug') {
            const key = `${e.instance.scenario.name}:${e.instance.variant}`;
            bugs.set(key, { records: e.records, witnesses: e.witnesses ?? [] });
            if (e.trace.bug) bugOf.set(key, e.trace.bug);
          } else if (e.type === 'done') {
            progress.clear();
            reports.push(e.report);
            if (!a.json)
              printReport(e.report, bugs.get(`${e.report.scenario}:${e.report.variant}`), showTraces, io);
          }
        },
        error: reject,
        complete: resolve,
      });
    });
  } finally {
    process.off('SIGINT', onSigint);
    progress.clear();
  }
  const summary = summarize(reports, controller.signal.aborted);
  if (a.json) io.out(JSON.stringify(summary, null, 2));
  else {
    const bad = reports.filter((r) => !r.ok).length;
    io.out(
      `${reports.length} variant${reports.length === 1 ? '' : 's'} checked: ${reports.length - bad} as expected${bad ? `, ${bad} NOT as expected` : ''}`,
    );
  }
  // After the results are out: a file that cannot be written loses nothing already shown.
  let failed = false;
  const writeOut = (file: string, what: string, text: string, append = false) => {
    try {
      if (append) appendFileSync(file, text);
      else writeFileSync(file, text);
    } catch (e) {
      io.err(
        `vcpusim: ${file}: cannot write the ${what} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      );
      failed = true;
    }
  };
  if (a.junit) writeOut(a.junit, 'JUnit report', junitXml(reports, bugs));
  if (a.report !== undefined) {
    const variants = await Promise.all(
      reports.map((r) => {
        const key = `${r.scenario}:${r.variant}`;
        return reportVariant(r, instances.get(key)?.actors ?? [], bugs.get(key), bugOf.get(key));
      }),
    );
    const file = join(a.report, 'index.html');
    try {
      mkdirSync(a.report, { recursive: true });
    } catch {
      // writeOut names the failure.
    }
    writeOut(file, 'HTML report', htmlReport(variants, { version: VERSION }));
    if (!failed) io.err(`report: ${file}`);
  }
  const env = io.env ?? process.env;
  if (env.GITHUB_ACTIONS === 'true') {
    // Workflow commands on stdout, where the runner reads them; with --json, stdout is the document.
    for (const line of annotations(reports)) (a.json ? io.err : io.out)(line);
    const file = env.GITHUB_STEP_SUMMARY;
    if (file) writeOut(file, 'step summary', stepSummary(reports, bugs), true);
  }
  if (controller.signal.aborted) return 130;
  return failed && summary.exitCode === 0 ? 2 : summary.exitCode;
}

function printReport(r: VariantReport, shown: Counterexample | undefined, showTraces: boolean, io: Io): void {
  const name = `${r.scenario}:${r.variant}`;
  const secs = `${(r.elapsedMs / 1000).toFixed(2)} s`;
  const mark = r.interrupted ? 'STOP' : r.ok ? 'ok  ' : 'FAIL';
  if (r.verdict === 'error') {
    io.out(`ERROR ${name}\n      ${r.error?.message}`);
    return;
  }
  const expect = `expected ${r.expect}`;
  if (r.verdict === 'pass') {
    const how = r.exhaustive
      ? 'exhaustive'
      : r.preemptionBound !== undefined
        ? `complete up to ${r.preemptionBound} preemptions`
        : `not exhaustive: ${r.strategy}, seed ${r.seed}${r.stoppedBy ? `, stopped by ${r.stoppedBy}` : ''}`;
    const classes = r.classes !== undefined ? ` (${r.classes} classes)` : '';
    io.out(
      `${mark} ${name}  pass (${expect})  no bug in ${r.schedules} schedules${classes}, ${r.steps} steps, ${secs} (${how})${r.interrupted ? ' [interrupted]' : ''}`,
    );
    printCoverage(r, io);
    return;
  }
  io.out(`${mark} ${name}  BUG (${expect})  ${r.kind}: ${r.message}`);
  io.out(
    `      found in schedule ${(r.execution ?? 0) + 1} of ${r.schedules}, at step ${r.step}, after ${secs}`,
  );
  if (r.found) {
    io.out(
      `      shrunk from ${r.found.length} steps and ${r.found.preemptions} preemptions to ${r.length} steps and ${r.preemptions} preemptions`,
    );
  }
  if (shown && (showTraces || !r.ok)) io.out(formatCounterexample(shown));
  if (r.traceFile) io.out(`      trace: ${r.traceFile}  (vcpusim replay ${r.traceFile})`);
  printCoverage(r, io);
  if (r.traceError) io.out(`      trace not saved: ${r.traceError}`);
}

function printCoverage(r: VariantReport, io: Io): void {
  if (!r.coverage) return;
  const per = Object.entries(r.coverage).map(([actor, c]) => `${actor} ${c.taken}/${c.transitions}`);
  io.out(`      transitions taken: ${per.join(', ')}`);
}
