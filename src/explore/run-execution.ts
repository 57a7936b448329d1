import { Observable } from 'rxjs';
import type { LockEdge } from '../checkers/lock-order.ts';
import { ModelError } from '../model/errors.ts';
import type { ActorHosting } from '../runtime/actor-host.ts';
import type { Checkpoint } from '../runtime/execution.ts';
import { Execution } from '../runtime/execution.ts';
import type { Bug, Footprint, StepRecord } from '../runtime/step.ts';
import type { ScenarioInstance } from '../scenario/instance.ts';
import { ReplayStrategy } from '../strategies/replay.ts';
import type { Strategy } from '../strategies/strategy.ts';

export interface ExecutionResult {
  readonly index: number;
  /** The moves taken, by identity (see moveKey). */
  readonly moves: readonly string[];
  readonly steps: number;
  readonly bug: Bug | undefined;
  /** Abandoned as redundant by the strategy (DPOR's sleep sets): not a complete execution. */
  readonly blocked: boolean;
  /** Acquisitions still waiting at the end (see Execution.waiting). */
  readonly waiting: readonly Footprint[];
  /** With a strategy that hashes states: the global state after each step. */
  readonly states: readonly number[];
  readonly traceHash: string;
  readonly stepHashes: readonly number[];
  /** Filled only with `fingerprint`. */
  readonly contextHashes: readonly string[];
  /** Filled only when recording. */
  readonly records: readonly StepRecord[];
  /** The lock orders it recorded (src/checkers/lock-order.ts), each once. */
  readonly lockEdges: readonly LockEdge[];
  /** With a coverage instance: the transitions it took (src/runtime/transition-ids.ts), each once. */
  readonly covered: readonly string[];
}

export interface RunOptions {
  /** Start from this checkpoint, whose execution took `moves` to reach it. */
  readonly resume?: { readonly checkpoint: Checkpoint; readonly moves: readonly string[] };
  /** Collect a checkpoint after the start and after every step. */
  readonly checkpoints?: Checkpoint[];
  readonly record?: boolean;
  readonly fingerprint?: boolean;
  readonly onStep?: (record: StepRecord) => void;
  /** Lock orders other executions recorded (see ExecutionOptions.lockOrders). */
  readonly lockOrders?: readonly LockEdge[];
  /** Where the machines run (see ExecutionOptions.hosting). */
  readonly hosting?: ActorHosting;
}

/** Runs one execution under a strategy, to its end or its first bug. */
export function runExecution(
  instance: ScenarioInstance,
  strategy: Strategy,
  index: number,
  options: RunOptions = {},
): ExecutionResult {
  const exec = new Execution(instance, {
    record: options.record || !!options.onStep,
    fingerprint: options.fingerprint,
    trackReads: strategy.tracksReads,
    hashStates: strategy.hashesStates,
    from: options.resume?.checkpoint,
    lockOrders: options.lockOrders,
    coverage: instance.coverage,
    hosting: options.hosting,
  });
  if (!options.resume) exec.start();
  const moves: string[] = options.resume ? [...options.resume.moves] : [];
  const cps = options.checkpoints;
  cps?.push(exec.checkpoint());
  let blocked = false;
  while (!exec.bug) {
    const enabled = exec.enabled();
    if (enabled.length === 0) {
      exec.finish();
      break;
    }
    const move = strategy.pick(enabled, moves.length);
    if (!move) {
      blocked = true;
      break;
    }
    const rec = exec.apply(move);
    moves.push(rec.move);
    if (cps && !exec.bug) cps.push(exec.checkpoint());
    strategy.stepped?.(rec);
    options.onStep?.(rec);
  }
  const waiting = blocked ? [] : exec.waiting();
  const result: ExecutionResult = {
    index,
    moves,
    steps: exec.stepCount,
    bug: exec.bug,
    blocked,
    waiting,
    states: exec.stateHashes,
    traceHash: exec.traceHash,
    stepHashes: exec.stepHashes,
    contextHashes: exec.contextHashes,
    records: exec.records,
    lockEdges: exec.lockEdges(),
    covered: exec.coveredTransitions(),
  };
  strategy.end({ index, moves, bug: exec.bug, blocked, waiting, states: exec.stateHashes });
  return result;
}

/** Replays a schedule with step records (for a counterexample or a replay command). */
export function replayMoves(
  instance: ScenarioInstance,
  moves: readonly string[],
  options: {
    /** What each step is expected to do: the first difference is a divergence. */
    readonly whats?: readonly string[];
    readonly fingerprint?: boolean;
    readonly lockOrders?: readonly LockEdge[];
    /** `moves` is a prefix: stop where it ends. */
    readonly partial?: boolean;
  } = {},
) {
  const strategy = new ReplayStrategy(moves, options.whats, options.partial);
  strategy.begin();
  return runExecution(instance, strategy, 0, {
    record: true,
    fingerprint: options.fingerprint,
    lockOrders: options.lockOrders,
  });
}

/**
 * Executes the same decisions again and compares the step hashes. A difference means a
 * machine read something the scheduler does not control (Math.random, Date.now, a
 * global): reported with the first step that differs.
 */
export function checkDeterminism(
  instance: ScenarioInstance,
  first: Pick<ExecutionResult, 'moves'> & Partial<Pick<ExecutionResult, 'stepHashes' | 'traceHash'>>,
  lockOrders?: readonly LockEdge[],
): ExecutionResult {
  const where = `scenario '${instance.scenario.name}' variant '${instance.variant}'`;
  const advice = 'machines must not use Math.random, Date.now or shared globals: use choose() and now()';
  const again = (): ExecutionResult => {
    try {
      return replayMoves(instance, first.moves, { fingerprint: true, lockOrders });
    } catch (e) {
      if (e instanceof ModelError && e.kind === 'divergence') {
        throw new ModelError(
          'nondeterminism',
          `${where} is not deterministic: the same decisions, executed again, part at step ${e.where.step}; ${advice}`,
          e.where,
        );
      }
      throw e;
    }
  };
  const second = again();
  const third = again();
  const firstDiff = (a: readonly unknown[], b: readonly unknown[]) => {
    for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return i;
    return -1;
  };
  const diffs = [
    first.stepHashes ? firstDiff(first.stepHashes, second.stepHashes) : -1,
    firstDiff(second.stepHashes, third.stepHashes),
    firstDiff(second.contextHashes, third.contextHashes),
  ].filter((i) => i >= 0);
  if (diffs.length === 0 && first.traceHash !== undefined && first.traceHash !== second.traceHash) {
    throw new ModelError(
      'nondeterminism',
      `${where} is not deterministic: the same decisions, executed again, give a different trace hash; ${advice}`,
    );
  }
  if (diffs.length) {
    const i = Math.min(...diffs);
    const rec = second.records[i - 1];
    const at =
      i === 0 ? 'at start (initial states or contexts differ)' : `at step ${i} (${rec?.actor}: ${rec?.what})`;
    throw new ModelError(
      'nondeterminism',
      `${where} is not deterministic: the same decisions give a different trace ${at}; ${advice}`,
      {
        step: i,
        actor: rec?.actor,
      },
    );
  }
  return second;
}

export type ExecutionEvent =
  | { readonly type: 'step'; readonly record: StepRecord }
  | { readonly type: 'end'; readonly result: ExecutionResult };

/** One execution as an Observable: every step as it happens, then the result (DESIGN §2, "Events"). */
export function execution$(
  instance: ScenarioInstance,
  strategy: Strategy,
  index: number,
  options: Omit<RunOptions, 'onStep'> = {},
): Observable<ExecutionEvent> {
  return new Observable<ExecutionEvent>((sub) => {
    try {
      const result = runExecution(instance, strategy, index, {
        ...options,
        onStep: (record) => sub.next({ type: 'step', record }),
      });
      sub.next({ type: 'end', result });
      sub.complete();
    } catch (e) {
      sub.error(e);
    }
  });
}
