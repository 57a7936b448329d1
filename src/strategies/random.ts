import type { Move } from '../runtime/step.ts';
import { Prng } from './prng.ts';
import type { Strategy } from './strategy.ts';

/**
 * Seeded random walk (as shuttle's RandomScheduler, awslabs/shuttle
 * src/scheduler/random.rs): each step picks uniformly among the enabled moves. Execution `i`
 * draws from its own stream, seeded by (seed, i), so any execution can be re-run alone
 * and the result does not depend on how executions are spread over workers.
 */
export class RandomStrategy implements Strategy {
  readonly name = 'random';
  readonly exhausted = false;
  private prng = new Prng(0);

  constructor(private readonly seed: number) {}

  begin(index: number): boolean {
    this.prng = new Prng(this.seed, index);
    return true;
  }

  pick(enabled: readonly Move[]): Move {
    return enabled[this.prng.below(enabled.length)];
  }

  end(): void {}
}
