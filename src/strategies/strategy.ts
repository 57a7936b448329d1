import type { Bug, Move } from '../runtime/step.ts';

/**
 * The scheduler strategy interface (DESIGN §2, "Strategies"), after shuttle's
 * `Scheduler` trait: begin an execution, pick each next step, end the execution.
 * DFS+DPOR, PCT, random, replay and portfolio all sit behind it.
 */
export interface Strategy {
  readonly name: string;
  /** Begins execution number `index`; false when there is nothing left to explore. */
  begin(index: number): boolean;
  /** Picks the next move among the enabled ones (never empty). */
  pick(enabled: readonly Move[], step: number): Move;
  /** Ends the execution with the moves taken and the bug, if any. */
  end(summary: ExecutionSummary): void;
  /** True once `begin` has returned false because the whole space was covered. */
  readonly exhausted: boolean;
}

export interface ExecutionSummary {
  readonly index: number;
  readonly moves: readonly string[];
  readonly bug: Bug | undefined;
}
