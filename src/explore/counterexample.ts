import { join } from 'node:path';
import type { LockWitness } from '../checkers/lock-order-across.ts';
import { UsageError } from '../model/errors.ts';
import { makeTrace, type TraceFile, writeTrace } from '../report/trace-file.ts';
import type { Bug, StepRecord } from '../runtime/step.ts';
import type { ScenarioInstance } from '../scenario/instance.ts';
import { readyWitnesses } from './lock-witnesses.ts';
import { checkDeterminism, type ExecutionResult } from './run-execution.ts';
import { type Shrunk, shrink } from './shrink.ts';

/** A bug as exploration found it: its execution's schedule, and a cross-execution inversion's witnesses. */
export interface FoundBug {
  readonly bug: Bug;
  readonly moves: readonly string[];
  readonly witnesses?: readonly LockWitness[];
  /** Which execution found it, as the trace file records it. */
  readonly execution: number;
}

export interface Counterexample {
  readonly small: Shrunk;
  /** The shrunk schedule executed again, with step records. */
  readonly again: ExecutionResult;
  /** The witnesses' steps, witness 1 first. */
  readonly witnesses?: readonly (readonly StepRecord[])[];
  readonly trace: TraceFile;
  readonly traceFile?: string;
  /** Why the trace file could not be written: the bug stands, and this is reported with it. */
  readonly traceError?: string;
}

/**
 * Turns a bug into its counterexample (DESIGN §2, "Counterexamples"): shrinks the
 * schedule (an inversion across executions first gets its witnesses ready, and its
 * execution starts with their lock orders), executes it again to record the steps and to
 * check determinism, and writes the trace file into `traceDir` (null: none).
 */
export function counterexample(
  instance: ScenarioInstance,
  file: string | undefined,
  found: FoundBug,
  settings: Readonly<Record<string, unknown>>,
  traceDir: string | null | undefined,
): Counterexample {
  const across = found.witnesses
    ? readyWitnesses(instance, found.moves, found.bug, found.witnesses)
    : undefined;
  const lockOrders = across?.lockOrders;
  const small = shrink(instance, found.moves, found.bug, { lockOrders });
  const again = checkDeterminism(instance, small, lockOrders);
  const witnesses = across?.witnesses.map((w) => ({
    orders: w.orders,
    traceHash: w.result.traceHash,
    records: w.result.records,
  }));
  const trace = makeTrace({
    scenario: { name: instance.scenario.name, file, seed: instance.scenario.seed },
    variant: instance.variant,
    expect: instance.expect,
    params: instance.params,
    settings: { ...settings, checkers: instance.checkers },
    execution: found.execution,
    bug: again.bug,
    traceHash: again.traceHash,
    records: again.records,
    witnesses,
  });
  let traceFile: string | undefined;
  let traceError: string | undefined;
  if (traceDir !== null) {
    const path = join(
      traceDir ?? '.vcpusim/traces',
      `${instance.scenario.name}.${instance.variant}.${again.traceHash.slice(0, 8)}.trace.json`,
    );
    try {
      writeTrace(path, trace);
      traceFile = path;
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      traceError = e.message;
    }
  }
  return {
    small,
    again,
    ...(witnesses ? { witnesses: witnesses.map((w) => w.records) } : {}),
    trace,
    traceFile,
    traceError,
  };
}
