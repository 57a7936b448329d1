import type { Bug, Footprint, Move, StepRecord } from '../runtime/step.ts';

/**
 * The scheduler strategy interface (DESIGN §2, "Strategies"), after shuttle's
 * `Scheduler` trait: begin an execution, pick each next step, end the execution. It
 * drives one execution (random, PCT, replay, a DPOR or bounded-search branch); a search
 * across executions is a Search (src/explore/search.ts).
 */
export interface Strategy {
  readonly name: string;
  /** Begins execution number `index`; false when there is nothing left to explore. */
  begin(index: number): boolean;
  /**
   * Picks the next move among the enabled ones (never empty). Undefined abandons the
   * execution as redundant (every enabled move is in DPOR's sleep set).
   */
  pick(enabled: readonly Move[], step: number): Move | undefined;
  /** Sees each step once it is taken, with its footprint. */
  stepped?(record: StepRecord): void;
  /** Asks the runtime to record what invariants read into each footprint. */
  readonly tracksReads?: boolean;
  /** Asks the runtime to hash the global state after each step. */
  readonly hashesStates?: boolean;
  /** Ends the execution with the moves taken and the bug, if any. */
  end(summary: ExecutionSummary): void;
  /** True once `begin` has returned false because the whole space was covered. */
  readonly exhausted: boolean;
}

export interface ExecutionSummary {
  readonly index: number;
  readonly moves: readonly string[];
  readonly bug: Bug | undefined;
  /** Abandoned by `pick` before its end. */
  readonly blocked: boolean;
  /** Acquisitions still waiting at the end (see Execution.waiting). */
  readonly waiting: readonly Footprint[];
  /** With `hashesStates`: the global state hash after each step. */
  readonly states: readonly number[];
}
