import { Observable } from 'rxjs';
import type { CheckerOptions } from '../checkers/settings.ts';
import { ModelError, UsageError } from '../model/errors.ts';
import type { TraceFile } from '../report/trace-file.ts';
import type { VariantReport } from '../report/variant-report.ts';
import type { StepRecord } from '../runtime/step.ts';
import type { ScenarioInstance } from '../scenario/instance.ts';
import { portfolioPhases } from '../strategies/portfolio.ts';
import { PreemptionBoundedSearch } from '../strategies/preemption-bounded.ts';
import { SamplingSearch } from '../strategies/sampling-search.ts';
import { dporLanes } from '../strategies/shard.ts';
import { counterexample } from './counterexample.ts';
import { type ExploreOutcome, explore, type Phase } from './explore.ts';
import { checkDeterminism } from './run-execution.ts';
import type { WorkerPool } from './worker-pool.ts';

export type StrategyName = 'portfolio' | 'dpor' | 'pct' | 'random';
export const STRATEGIES: readonly StrategyName[] = ['portfolio', 'dpor', 'pct', 'random'];

export interface CheckOptions {
  readonly strategy?: StrategyName;
  readonly maxSchedules?: number;
  readonly budgetMs?: number;
  readonly seed?: number;
  /** PCT's bug depth d (`--pct-depth`). */
  readonly pctDepth?: number;
  /** Bound the exhaustive search to this many preemptions (iterative deepening from 0). */
  readonly preemptions?: number;
  /** Run only the i-th (1-based) of n disjoint parts of the search. */
  readonly shard?: { readonly index: number; readonly count: number };
  /** Worker threads; 1 runs in process. */
  readonly workers?: number;
  /** Where to write counterexample traces; null writes none. Default `.vcpusim/traces`. */
  readonly traceDir?: string | null;
  /** Progress events at most this often. */
  readonly progressMs?: number;
  readonly signal?: AbortSignal;
  /** Checkers to turn off (`{ race: false }`); every checker left out is on. */
  readonly checkers?: CheckerOptions;
}

export const DEFAULTS = {
  strategy: 'portfolio' as StrategyName,
  maxSchedules: 100_000,
  budgetMs: 30_000,
  seed: 0,
  pctDepth: 3,
  workers: 1,
  progressMs: 500,
};

export interface Progress {
  readonly scenario: string;
  readonly variant: string;
  readonly schedules: number;
  /** Mazurkiewicz traces covered so far, under DPOR. */
  readonly classes?: number;
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
      readonly records: readonly StepRecord[];
      /** A lock-order inversion across executions: the witnesses' steps, witness 1 first. */
      readonly witnesses?: readonly (readonly StepRecord[])[];
      readonly trace: TraceFile;
    }
  | { readonly type: 'done'; readonly report: VariantReport };

/** The phases of exploration a strategy runs (see explore.ts). */
function makePhases(
  instance: ScenarioInstance,
  o: typeof DEFAULTS & Pick<CheckOptions, 'preemptions' | 'shard'>,
): { name: string; phases: Phase[]; bounded?: PreemptionBoundedSearch } {
  const all = Number.POSITIVE_INFINITY;
  if (o.preemptions !== undefined) {
    if (o.shard && o.shard.count > 1) throw new UsageError('--preemptions cannot be combined with --shard');
    const bounded = new PreemptionBoundedSearch(o.preemptions);
    return { name: 'preemption-bounded', phases: [{ lanes: [bounded], cap: all }], bounded };
  }
  const shard = o.shard && o.shard.count > 1 ? o.shard : undefined;
  switch (o.strategy) {
    case 'portfolio':
      return { name: 'portfolio', phases: portfolioPhases(dporLanes(instance, shard), o.seed, shard) };
    case 'dpor':
      return { name: 'dpor', phases: [{ lanes: dporLanes(instance, shard), cap: all }] };
    case 'pct':
      return {
        name: 'pct',
        phases: [{ lanes: [new SamplingSearch('pct', o.seed, o.pctDepth, shard)], cap: all }],
      };
    case 'random':
      return {
        name: 'random',
        phases: [{ lanes: [new SamplingSearch('random', o.seed, 3, shard)], cap: all }],
      };
  }
}

/**
 * Explores one variant: executions under the strategy until the first bug, the schedule
 * limit, the time budget, or exhaustion; then shrinks the bug's schedule and writes its
 * trace. With a pool, executions run on worker threads; the report is the same.
 */
export function checkVariant$(
  instance: ScenarioInstance,
  file: string | undefined,
  options: CheckOptions = {},
  pool?: WorkerPool,
): Observable<CheckEvent> {
  return new Observable<CheckEvent>((sub) => {
    const o = { ...DEFAULTS, ...stripUndefined(options) };
    const started = performance.now();
    let plan: ReturnType<typeof makePhases>;
    try {
      plan = makePhases(instance, o);
    } catch (e) {
      if (e instanceof ModelError) {
        sub.next({ type: 'done', report: errorReportOf(instance, o, e) });
        sub.complete();
        return;
      }
      throw e;
    }
    const base = {
      scenario: instance.scenario.name,
      variant: instance.variant,
      expect: instance.expect,
      strategy: plan.name,
      seed: o.seed,
      params: instance.params,
      ...(o.shard ? { shard: o.shard } : {}),
      checkers: instance.checkers,
    };
    sub.next({ type: 'start', instance });
    // Unsubscribing stops the exploration as Ctrl-C does.
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    options.signal?.addEventListener('abort', onAbort);
    if (options.signal?.aborted) stop.abort();
    let lastProgress = started;
    const run = async (): Promise<VariantReport> => {
      let outcome: ExploreOutcome;
      try {
        outcome = await explore(instance, plan.phases, {
          maxSchedules: o.maxSchedules,
          budgetMs: o.budgetMs,
          signal: stop.signal,
          pool:
            pool && file
              ? {
                  pool,
                  target: {
                    file,
                    variant: instance.variant,
                    params: instance.params,
                    checkers: instance.checkers,
                  },
                }
              : undefined,
          onResult: (r, schedules) => {
            if (schedules === 1 && !r.bug && !r.blocked) checkDeterminism(instance, r);
          },
          onProgress: (schedules, classes) => {
            const t = performance.now();
            if (t - lastProgress < o.progressMs) return;
            lastProgress = t;
            sub.next({
              type: 'progress',
              progress: {
                ...base,
                schedules,
                classes: plan.name === 'dpor' || plan.name === 'portfolio' ? classes : undefined,
                maxSchedules: o.maxSchedules,
                budgetMs: o.budgetMs,
                steps: 0,
                elapsedMs: t - started,
              },
            });
          },
        });
      } catch (e) {
        if (e instanceof ModelError)
          return { ...errorReportOf(instance, o, e, performance.now() - started), ...base };
        throw e;
      }
      const stats = {
        ...base,
        exhaustive: outcome.exhausted && (!plan.bounded || plan.bounded.exhausted),
        interrupted: outcome.stop === 'interrupted',
        stoppedBy: outcome.stop,
        schedules: outcome.schedules,
        // Classes only where partial-order reduction makes executions stand for them.
        ...(plan.name === 'dpor' || plan.name === 'portfolio'
          ? { classes: outcome.classes, blocked: outcome.blocked, states: outcome.states }
          : plan.bounded
            ? { states: outcome.states }
            : {}),
        ...(plan.bounded ? { preemptionBound: plan.bounded.level } : {}),
        steps: outcome.steps,
      };
      if (!outcome.bug) {
        // A shard's orders may close a cycle with another shard's: merge joins them.
        const orders =
          o.shard && o.shard.count > 1 && outcome.lockOrders ? outcome.lockOrders.orders() : undefined;
        return {
          ...stats,
          verdict: 'pass',
          ok: instance.expect === 'pass',
          elapsedMs: Math.round(performance.now() - started),
          ...(orders
            ? {
                lockOrders: orders.map(({ edge, moves }) => ({ ...edge, schedule: moves.join(' ') })),
                ...(file ? { file } : {}),
              }
            : {}),
        };
      }
      return reportBug(outcome, stats);
    };
    const reportBug = (
      outcome: ExploreOutcome,
      stats: Omit<VariantReport, 'verdict' | 'ok' | 'elapsedMs'>,
    ): VariantReport => {
      const found = outcome.bug!;
      const bug = found.bug!;
      const { small, again, witnesses, trace, traceFile, traceError } = counterexample(
        instance,
        file,
        { bug, moves: found.moves ?? [], witnesses: found.witnesses, execution: found.id },
        { strategy: plan.name, seed: o.seed, maxSchedules: o.maxSchedules, budgetMs: o.budgetMs },
        o.traceDir,
      );
      sub.next({ type: 'bug', instance, records: again.records, witnesses, trace });
      const b = again.bug ?? bug;
      return {
        ...stats,
        verdict: 'bug',
        ok: instance.expect === 'bug',
        elapsedMs: Math.round(performance.now() - started),
        kind: b.kind,
        message: b.message,
        actor: b.actor,
        invariant: b.invariant,
        culprits: b.steps,
        execution: outcome.schedules - 1,
        step: b.step,
        length: again.steps,
        preemptions: small.preemptions,
        found: { length: found.steps, preemptions: small.before.preemptions },
        traceHash: again.traceHash,
        ...(witnesses?.length ? { witnesses: witnesses.length } : {}),
        traceFile,
        traceError,
      };
    };
    let cancelled = false;
    run().then(
      (report) => {
        if (cancelled) return;
        sub.next({ type: 'done', report });
        sub.complete();
      },
      (e) => sub.error(e),
    );
    return () => {
      cancelled = true;
      stop.abort();
      options.signal?.removeEventListener('abort', onAbort);
    };
  });
}

function errorReportOf(
  instance: ScenarioInstance,
  o: typeof DEFAULTS,
  e: ModelError,
  elapsedMs = 0,
): VariantReport {
  return {
    scenario: instance.scenario.name,
    variant: instance.variant,
    expect: instance.expect,
    strategy: o.strategy,
    seed: o.seed,
    params: instance.params,
    checkers: instance.checkers,
    verdict: 'error',
    ok: false,
    exhaustive: false,
    interrupted: false,
    schedules: 0,
    steps: 0,
    elapsedMs: Math.round(elapsedMs),
    error: { kind: e.kind, message: e.message },
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
