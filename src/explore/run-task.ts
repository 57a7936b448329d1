import type { ScenarioInstance } from '../scenario/instance.ts';
import { DporBranch } from '../strategies/dpor-branch.ts';
import { PctStrategy } from '../strategies/pct.ts';
import { BoundedBranch } from '../strategies/preemption-bounded.ts';
import { RandomStrategy } from '../strategies/random.ts';
import type { Strategy } from '../strategies/strategy.ts';
import { runExecution } from './run-execution.ts';
import type { Task, TaskResult } from './search.ts';

/** Runs one task, in process or on a worker thread (src/explore/worker.ts). */
export function runTask(instance: ScenarioInstance, id: number, task: Task): TaskResult {
  let strategy: Strategy;
  let index = 0;
  switch (task.kind) {
    case 'random':
      strategy = new RandomStrategy(task.seed);
      index = task.index;
      break;
    case 'pct':
      strategy = new PctStrategy(task.seed, task.depth, { maxSteps: task.maxSteps });
      index = task.index;
      break;
    case 'dpor':
      strategy = new DporBranch(task);
      break;
    case 'bounded':
      strategy = new BoundedBranch(task);
      break;
  }
  strategy.begin(index);
  const r = runExecution(instance, strategy, index);
  const base = {
    id,
    task,
    moves: r.moves,
    steps: r.steps,
    bug: r.bug,
    blocked: r.blocked,
    traceHash: r.traceHash,
  };
  if (strategy instanceof DporBranch) {
    return { ...base, dpor: strategy.report };
  }
  if (strategy instanceof BoundedBranch) return { ...base, enabled: strategy.enabled };
  return base;
}
