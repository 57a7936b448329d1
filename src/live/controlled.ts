import { type ExecutionResult, runExecution } from '../explore/run-execution.ts';
import type { ScenarioInstance } from '../scenario/instance.ts';
import { RandomStrategy } from '../strategies/random.ts';
import type { ActorThreads } from './actor-threads.ts';

/**
 * One execution of `live --controlled`: the actors' machines run on their worker threads
 * (ActorThreads), but the scheduler grants every step, as in process: the seeded random
 * strategy picks each move and the runtime performs it. Its trace is the in-process
 * runtime's for the same seed, bit for bit.
 */
export function controlledRun(
  instance: ScenarioInstance,
  threads: ActorThreads,
  seed: number,
  record = false,
): ExecutionResult {
  threads.reset(instance);
  const strategy = new RandomStrategy(seed);
  strategy.begin(0);
  return runExecution(instance, strategy, 0, { record, hosting: threads.hosting() });
}
