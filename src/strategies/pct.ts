import type { Move } from '../runtime/step.ts';
import { Prng } from './prng.ts';
import type { Strategy } from './strategy.ts';

export interface PctOptions {
  /**
   * k, the estimated length of an execution in steps (default 100). The paper takes the
   * longest execution seen so far; that would make execution `i` depend on which executions
   * ran before it in this process, so k is fixed here instead: the caller sets it from the
   * length of a first execution. Change points past the real end of an execution do nothing.
   */
  readonly maxSteps?: number;
}

/**
 * Probabilistic Concurrency Testing (Burckhardt, Kothari, Musuvathi, Nagarakatte, "A
 * Randomized Scheduler with Probabilistic Guarantees of Finding Bugs", ASPLOS 2010). Each
 * actor gets a distinct random priority of at least `depth`, and d−1 change points are drawn
 * uniformly in [1, k]. Each step runs the highest-priority actor with an enabled move (a
 * random one of its moves if it has several); when step number `k_i` (the i-th change
 * point) has been taken, the actor that took it drops to priority i−1, below every initial
 * priority. A bug of depth d among n actors is then found with probability at least
 * 1/(n·k^(d−1)) per execution.
 *
 * As RandomStrategy, execution `i` draws from its own stream seeded by (seed, i), so it can
 * be re-run alone and results do not depend on how executions are spread over workers.
 */
export class PctStrategy implements Strategy {
  readonly name = 'pct';
  readonly exhausted = false;
  private readonly k: number;
  private prng = new Prng(0);
  /** Actor priorities, higher runs first; actors enter as they first appear. */
  private priority = new Map<string, number>();
  /** changePoints[i] is the 1-based step after which the actor that took it drops to i. */
  private changePoints: number[] = [];

  constructor(
    private readonly seed: number,
    private readonly depth: number,
    options: PctOptions = {},
  ) {
    this.k = options.maxSteps ?? 100;
    if (!Number.isInteger(depth) || depth < 1) throw new RangeError(`PCT depth must be ≥ 1, got ${depth}`);
    if (!Number.isInteger(this.k) || this.k < 1)
      throw new RangeError(`PCT maxSteps must be ≥ 1, got ${this.k}`);
  }

  begin(index: number): boolean {
    this.prng = new Prng(this.seed, index);
    this.priority = new Map();
    this.changePoints = Array.from({ length: this.depth - 1 }, () => 1 + this.prng.below(this.k));
    return true;
  }

  pick(enabled: readonly Move[], step: number): Move {
    for (const m of enabled) if (!this.priority.has(m.actor)) this.discover(m.actor);
    const rank = (actor: string) => this.priority.get(actor) ?? 0;
    let top = enabled[0].actor;
    for (const m of enabled) if (rank(m.actor) > rank(top)) top = m.actor;
    const own = enabled.filter((m) => m.actor === top);
    const move = own.length === 1 ? own[0] : own[this.prng.below(own.length)];
    // `step` counts the steps already taken: this move is step number step + 1.
    const i = this.changePoints.lastIndexOf(step + 1);
    if (i >= 0) this.priority.set(top, i);
    return move;
  }

  end(): void {}

  /**
   * Gives a new actor a uniformly random rank among all actors seen so far (shifting those
   * above it up by one), so the initial priorities are a uniform random permutation of
   * depth, depth+1, ... as if every actor had been ranked at the start.
   */
  private discover(actor: string): void {
    const p = this.depth + this.prng.below(this.priority.size + 1);
    for (const [a, q] of this.priority) if (q >= p) this.priority.set(a, q + 1);
    this.priority.set(actor, p);
  }
}
