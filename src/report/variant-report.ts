import type { LockEdge } from '../checkers/lock-order.ts';
import type { CheckerSettings } from '../checkers/settings.ts';
import type { BugKind } from '../runtime/step.ts';
import type { ParamValue } from '../scenario/define-scenario.ts';

/**
 * One variant's result, as `check --json` prints it and `check()` returns it
 * (DESIGN §3). `verdict` is what was found; `ok` says whether it matches `expect`.
 */
/**
 * A lock order a shard's executions recorded (src/checkers/lock-order.ts), with the
 * schedule of the first execution that did: `merge` joins the shards' orders into the
 * graph across executions.
 */
export interface ShardLockOrder extends LockEdge {
  readonly schedule: string;
}

export interface VariantReport {
  readonly scenario: string;
  readonly variant: string;
  readonly expect: 'bug' | 'pass';
  readonly verdict: 'bug' | 'pass' | 'error';
  readonly ok: boolean;
  readonly exhaustive: boolean;
  readonly interrupted: boolean;
  readonly strategy: string;
  readonly seed: number;
  readonly params: Readonly<Record<string, ParamValue>>;
  /** Which checkers ran (`--no-check` turns some off). */
  readonly checkers?: CheckerSettings;
  /** Under `--shard i/n`: which part of the search this report covers. */
  readonly shard?: { readonly index: number; readonly count: number };
  /** In a merged report: how many shards it joins. */
  readonly shards?: { readonly count: number; readonly merged: number };
  /** Under `--preemptions N`: the bound of the last level explored. */
  readonly preemptionBound?: number;
  /** Why exploration ended: exhausted, bug, max-schedules, budget or interrupted. */
  readonly stoppedBy?: string;
  /** Executions judged (complete and blocked). */
  readonly schedules: number;
  /** Under DPOR: Mazurkiewicz traces explored, and executions abandoned by sleep sets. */
  readonly classes?: number;
  readonly blocked?: number;
  /** Distinct global states the exhaustive search reached (hashed). */
  readonly states?: number;
  readonly steps: number;
  readonly elapsedMs: number;
  /** The fields below are present when verdict is `bug`. */
  readonly kind?: BugKind;
  readonly message?: string;
  readonly actor?: string;
  readonly invariant?: string;
  /** The culprit steps the checker named (racing accesses, lock acquisitions), in the execution as found. */
  readonly culprits?: readonly number[];
  /** Which execution found it (0-based) and at which step. */
  readonly execution?: number;
  readonly step?: number;
  /** Steps and preemptions in the shrunk counterexample, and in the schedule as found. */
  readonly length?: number;
  readonly preemptions?: number;
  readonly found?: { readonly length: number; readonly preemptions: number };
  readonly traceHash?: string;
  /**
   * A lock-order inversion across executions: how many other executions (the trace's
   * witnesses) record the rest of its cycle.
   */
  readonly witnesses?: number;
  readonly traceFile?: string;
  /** Why the trace file could not be written, when it could not. */
  readonly traceError?: string;
  /**
   * Under `--shard` with no bug and the lock-order checker on: the orders the shard
   * recorded, for `merge` to find an inversion whose paths ran in different shards; and
   * the scenario's module, to build its counterexample.
   */
  readonly lockOrders?: readonly ShardLockOrder[];
  readonly file?: string;
  /** Present when verdict is `error`: the scenario failed to load or a machine misbehaved. */
  readonly error?: { readonly kind: string; readonly message: string };
}

/**
 * The version of the report's JSON Schema (schema/check-report.schema.json): raised when
 * a field changes meaning or goes away, not when one is added.
 */
export const REPORT_SCHEMA_VERSION = 1;

export interface CheckReport {
  /** Which schema the document follows (REPORT_SCHEMA_VERSION). */
  readonly schemaVersion: typeof REPORT_SCHEMA_VERSION;
  readonly tool: { readonly name: 'vcpusim'; readonly version: string };
  readonly ok: boolean;
  /** 0 all verdicts as expected, 1 some verdict not as expected, 3 a scenario failed to load or run. */
  readonly exitCode: 0 | 1 | 3;
  /** Ctrl-C stopped the run: the results are what was found until then. */
  readonly interrupted?: boolean;
  readonly results: readonly VariantReport[];
}
