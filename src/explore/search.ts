import type { LockEdge } from '../checkers/lock-order.ts';
import type { Bug, Move } from '../runtime/step.ts';
import type { DporTask } from '../strategies/dpor.ts';
import type { BranchReport } from '../strategies/dpor-branch.ts';
import type { BoundedTask } from '../strategies/preemption-bounded.ts';

/**
 * One execution to run, described by plain data so that it can run in process or on a
 * worker thread (src/explore/run-task.ts turns it back into a Strategy).
 */
export type Task =
  | { readonly kind: 'random'; readonly seed: number; readonly index: number }
  | {
      readonly kind: 'pct';
      readonly seed: number;
      readonly index: number;
      readonly depth: number;
      readonly maxSteps: number;
    }
  | DporTask
  | BoundedTask;

export interface TaskResult {
  readonly id: number;
  readonly task: Task;
  readonly moves: readonly string[];
  readonly steps: number;
  readonly bug: Bug | undefined;
  readonly blocked: boolean;
  readonly traceHash?: string;
  /** The lock orders it recorded (src/checkers/lock-order.ts), when there are any. */
  readonly lockEdges?: readonly LockEdge[];
  /** The transitions it took, when coverage is recorded and there are any. */
  readonly covered?: readonly string[];
  /** DPOR: what the execution tells the search (its new nodes and races). */
  readonly dpor?: BranchReport;
  /** Preemption-bounded search: the enabled moves before every step, and the state after each. */
  readonly enabled?: readonly (readonly Move[])[];
  readonly states?: readonly number[];
}

/**
 * A search hands out executions and judges their results (DESIGN §2, "Exploration").
 * `next` may hand out executions ahead of the one it waits for, so that workers stay
 * busy; `accept` is always called in the order `awaiting` names, so what the search
 * decides never depends on how many workers ran its executions.
 */
export interface Search {
  readonly name: string;
  next(): { readonly id: number; readonly task: Task } | undefined;
  /** The id of the result `accept` needs next; undefined when the search has nothing left. */
  awaiting(): number | undefined;
  accept(result: TaskResult): void;
  /** A result has arrived, possibly ahead of its turn (optional: DPOR learns footprints early). */
  peek?(result: TaskResult): void;
  readonly exhausted: boolean;
  /**
   * Whether running executions ahead of need pays. Sampling's executions are independent,
   * so yes. DPOR never runs single executions ahead (shallow ones re-run long prefixes,
   * measured slower than one thread): on a pool it shares whole subtrees instead
   * (src/explore/share-dpor.ts).
   */
  readonly runsAhead?: boolean;
}
