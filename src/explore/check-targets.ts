import { concat, defer, filter, finalize, lastValueFrom, map, Observable, of, toArray } from 'rxjs';
import { checkerSettings } from '../checkers/settings.ts';
import { ModelError, UsageError } from '../model/errors.ts';
import { type CheckReport, REPORT_SCHEMA_VERSION, type VariantReport } from '../report/variant-report.ts';
import type { AnyScenario, ParamValue } from '../scenario/define-scenario.ts';
import { instantiate, variantNames } from '../scenario/instance.ts';
import { VERSION } from '../version.ts';
import { type CheckEvent, type CheckOptions, checkVariant$, DEFAULTS } from './check.ts';
import { WorkerPool } from './worker-pool.ts';

/** One thing to check: a scenario, optionally one of its variants, with parameter overrides. */
export interface CheckTarget {
  readonly scenario: AnyScenario;
  readonly file?: string;
  readonly variant?: string;
  readonly params?: Readonly<Record<string, ParamValue>>;
}

/** A target that could not even be loaded, reported as an error result in its place. */
export interface FailedTarget {
  readonly name: string;
  readonly error: ModelError;
}

/** Checks every variant of every target in turn; a broken one becomes an `error` result. */
export function checkTargets$(
  targets: readonly (CheckTarget | FailedTarget)[],
  options: CheckOptions = {},
): Observable<CheckEvent> {
  return new Observable<CheckEvent>((sub) => {
    // One pool for the whole run; scenarios that exist only in memory run in process.
    const workers = options.workers ?? DEFAULTS.workers;
    const fromFiles = targets.some((t) => 'scenario' in t && t.file);
    // The main thread runs executions too: n workers are the main thread and n - 1 in the pool.
    const pool = workers > 1 && fromFiles ? new WorkerPool(workers - 1) : undefined;
    for (const t of targets) if (pool && 'scenario' in t && t.file) pool.warm(t.file);
    const s = variants$(targets, options, pool)
      .pipe(finalize(() => void pool?.close()))
      .subscribe(sub);
    return () => s.unsubscribe();
  });
}

function variants$(
  targets: readonly (CheckTarget | FailedTarget)[],
  options: CheckOptions,
  pool: WorkerPool | undefined,
): Observable<CheckEvent> {
  const runs: Observable<CheckEvent>[] = [];
  for (const t of targets) {
    if ('error' in t) {
      runs.push(of(errorEvent(t.name, '*', t.error, options)));
      continue;
    }
    const variants = t.variant ? [t.variant] : variantNames(t.scenario);
    for (const v of variants) {
      runs.push(
        defer(() => {
          if (options.signal?.aborted) return of<CheckEvent>();
          try {
            return checkVariant$(
              instantiate(t.scenario, v, t.params, options.checkers),
              t.file,
              options,
              pool,
            );
          } catch (e) {
            if (e instanceof ModelError) return of(errorEvent(t.scenario.name, v, e, options));
            throw e;
          }
        }),
      );
    }
  }
  return concat(...runs);
}

function errorEvent(scenario: string, variant: string, e: ModelError, options: CheckOptions): CheckEvent {
  return {
    type: 'done',
    report: {
      scenario,
      variant,
      expect: 'pass',
      verdict: 'error',
      ok: false,
      exhaustive: false,
      interrupted: false,
      strategy: options.strategy ?? DEFAULTS.strategy,
      seed: options.seed ?? DEFAULTS.seed,
      params: {},
      schedules: 0,
      steps: 0,
      elapsedMs: 0,
      error: { kind: e.kind, message: e.message },
    },
  };
}

export function summarize(results: readonly VariantReport[], interrupted = false): CheckReport {
  const error = results.some((r) => r.verdict === 'error');
  const ok = results.every((r) => r.ok);
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    tool: { name: 'vcpusim', version: VERSION },
    ok,
    exitCode: error ? 3 : ok ? 0 : 1,
    ...(interrupted ? { interrupted } : {}),
    results,
  };
}

/**
 * The public `check()`: checks a scenario (every variant, or the ones named) and resolves
 * to the same report `vcpusim check --json` prints.
 */
export async function check(
  scenario: AnyScenario | readonly AnyScenario[],
  options: CheckOptions & {
    readonly variants?: readonly string[];
    readonly params?: Readonly<Record<string, ParamValue>>;
  } = {},
): Promise<CheckReport> {
  checkerSettings(options.checkers); // an unknown checker name is a usage error, before any work
  const list = Array.isArray(scenario) ? scenario : [scenario as AnyScenario];
  const targets: CheckTarget[] = [];
  for (const s of list) {
    for (const v of options.variants ?? variantNames(s)) {
      if (!s.variants[v]) throw new UsageError(`scenario '${s.name}' has no variant '${v}'`);
      targets.push({ scenario: s, variant: v, params: options.params });
    }
  }
  const reports = await lastValueFrom(
    checkTargets$(targets, options).pipe(
      filter((e): e is Extract<CheckEvent, { type: 'done' }> => e.type === 'done'),
      map((e) => e.report),
      toArray(),
    ),
  );
  return summarize(reports);
}
