import { join } from 'node:path';
import { Observable } from 'rxjs';
import { ModelError, UsageError } from '../model/errors.ts';
import { makeTrace, type TraceFile, writeTrace } from '../report/trace-file.ts';
import type { VariantReport } from '../report/variant-report.ts';
import type { StepRecord } from '../runtime/step.ts';
import type { ScenarioInstance } from '../scenario/instance.ts';
import { RandomStrategy } from '../strategies/random.ts';
import type { Strategy } from '../strategies/strategy.ts';
import { checkDeterminism, type ExecutionResult, runExecution } from './run-execution.ts';

export type StrategyName = 'random';
export const STRATEGIES: readonly StrategyName[] = ['random'];

export interface CheckOptions {
  readonly strategy?: StrategyName;
  readonly maxSchedules?: number;
  readonly budgetMs?: number;
  readonly seed?: number;
  /** Where to write counterexample traces; null writes none. Default `.vcpusim/traces`. */
  readonly traceDir?: string | null;
  /** Progress events at most this often. */
  readonly progressMs?: number;
  readonly signal?: AbortSignal;
}

export const DEFAULTS = {
  strategy: 'random' as StrategyName,
  maxSchedules: 1000,
  budgetMs: 30_000,
  seed: 0,
  progressMs: 500,
};

export interface Progress {
  readonly scenario: string;
  readonly variant: string;
  readonly schedules: number;
  readonly maxSchedules: number;
  readonly budgetMs: number;
  readonly steps: number;
  readonly elapsedMs: number;
}

/** What a check publishes (DESIGN §2, "Events"): reporters and the CLI subscribe. */
export type CheckEvent =
  | { readonly type: 'start'; readonly instance: ScenarioInstance }
  | { readonly type: 'progress'; readonly progress: Progress }
  | {
      readonly type: 'bug';
      readonly instance: ScenarioInstance;
      readonly result: ExecutionResult;
      readonly records: readonly StepRecord[];
      readonly trace: TraceFile;
    }
  | { readonly type: 'done'; readonly report: VariantReport };

function makeStrategy(name: StrategyName, seed: number): Strategy {
  switch (name) {
    case 'random':
      return new RandomStrategy(seed);
  }
}

/**
 * Explores one variant: executions under the strategy until the first bug, the schedule
 * limit, the time budget, or exhaustion. Runs in slices so progress and Ctrl-C get
 * through; the report is the same whatever the slicing.
 */
export function checkVariant$(
  instance: ScenarioInstance,
  file: string | undefined,
  options: CheckOptions = {},
): Observable<CheckEvent> {
  return new Observable<CheckEvent>((sub) => {
    let cancelled = false;
    const o = { ...DEFAULTS, ...stripUndefined(options) };
    const started = performance.now();
    const strategy = makeStrategy(o.strategy, o.seed);
    const base = {
      scenario: instance.scenario.name,
      variant: instance.variant,
      expect: instance.expect,
      strategy: strategy.name,
      seed: o.seed,
      params: instance.params,
    };
    let schedules = 0;
    let steps = 0;
    const finish = (extra: Partial<VariantReport> & Pick<VariantReport, 'verdict'>) => {
      const report: VariantReport = {
        ...base,
        ok: extra.verdict !== 'error' && extra.verdict === instance.expect,
        exhaustive: strategy.exhausted,
        interrupted: false,
        schedules,
        steps,
        elapsedMs: Math.round(performance.now() - started),
        ...extra,
      };
      sub.next({ type: 'done', report });
      sub.complete();
    };
    const fail = (e: unknown) => {
      if (e instanceof ModelError) finish({ verdict: 'error', error: { kind: e.kind, message: e.message } });
      else sub.error(e);
    };
    sub.next({ type: 'start', instance });
    let lastProgress = started;
    const slice = () => {
      try {
        const sliceEnd = performance.now() + 50;
        while (!cancelled) {
          const t = performance.now();
          if (options.signal?.aborted) return finish({ verdict: 'pass', interrupted: true });
          if (schedules >= o.maxSchedules || t - started >= o.budgetMs || !strategy.begin(schedules)) {
            return finish({ verdict: 'pass' });
          }
          const r = runExecution(instance, strategy, schedules);
          schedules++;
          steps += r.steps;
          if (schedules === 1 && !r.bug) checkDeterminism(instance, r);
          if (r.bug) return reportBug(r);
          if (t - lastProgress >= o.progressMs) {
            lastProgress = t;
            sub.next({
              type: 'progress',
              progress: {
                ...base,
                schedules,
                maxSchedules: o.maxSchedules,
                budgetMs: o.budgetMs,
                steps,
                elapsedMs: t - started,
              },
            });
          }
          if (performance.now() >= sliceEnd) {
            setImmediate(slice);
            return;
          }
        }
      } catch (e) {
        fail(e);
      }
    };
    const reportBug = (r: ExecutionResult) => {
      // Re-executing the bug's schedule both records the counterexample and checks determinism.
      const again = checkDeterminism(instance, r);
      const trace = makeTrace({
        scenario: { name: instance.scenario.name, file, seed: instance.scenario.seed },
        variant: instance.variant,
        expect: instance.expect,
        params: instance.params,
        settings: {
          strategy: strategy.name,
          seed: o.seed,
          maxSchedules: o.maxSchedules,
          budgetMs: o.budgetMs,
        },
        execution: r.index,
        bug: r.bug,
        traceHash: r.traceHash,
        records: again.records,
      });
      let traceFile: string | undefined;
      let traceError: string | undefined;
      if (o.traceDir !== null) {
        const file = join(
          o.traceDir ?? '.vcpusim/traces',
          `${instance.scenario.name}.${instance.variant}.${r.traceHash.slice(0, 8)}.trace.json`,
        );
        try {
          writeTrace(file, trace);
          traceFile = file;
        } catch (e) {
          // The bug stands even if its trace cannot be saved: report both.
          if (!(e instanceof UsageError)) throw e;
          traceError = e.message;
        }
      }
      sub.next({ type: 'bug', instance, result: r, records: again.records, trace });
      const b = r.bug!;
      finish({
        verdict: 'bug',
        kind: b.kind,
        message: b.message,
        actor: b.actor,
        invariant: b.invariant,
        execution: r.index,
        step: b.step,
        length: r.steps,
        traceHash: r.traceHash,
        traceFile,
        traceError,
      });
    };
    setImmediate(slice);
    return () => {
      cancelled = true;
    };
  });
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
