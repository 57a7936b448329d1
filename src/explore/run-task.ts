import type { Checkpoint } from '../runtime/execution.ts';
import type { Footprint, Move } from '../runtime/step.ts';
import type { ScenarioInstance } from '../scenario/instance.ts';
import { DporBranch } from '../strategies/dpor-branch.ts';
import { PctStrategy } from '../strategies/pct.ts';
import { BoundedBranch } from '../strategies/preemption-bounded.ts';
import { RandomStrategy } from '../strategies/random.ts';
import type { Strategy } from '../strategies/strategy.ts';
import { type ExecutionResult, runExecution } from './run-execution.ts';
import type { Task, TaskResult } from './search.ts';

/** An execution this thread ran, kept to resume later executions that share its path. */
interface Past {
  readonly instance: ScenarioInstance;
  readonly moves: readonly string[];
  readonly checkpoints: readonly Checkpoint[];
  readonly footprints: readonly Footprint[];
  readonly enabledAt: readonly (readonly Move[])[];
}

/** Depth-first search re-runs long shared prefixes: the last few executions are enough to skip them. */
const PAST_KEPT = 4;
const pasts: Past[] = [];

/** The kept execution sharing the longest path with `prefix`, and how long (at least one step). */
function bestPast(
  instance: ScenarioInstance,
  prefix: readonly string[],
): { past: Past; at: number } | undefined {
  let best: { past: Past; at: number } | undefined;
  // The prefix's last move is the one being tried: always run it.
  const limit = prefix.length - 1;
  for (const past of pasts) {
    if (past.instance !== instance) continue;
    let at = 0;
    const most = Math.min(limit, past.checkpoints.length - 1, past.moves.length);
    while (at < most && past.moves[at] === prefix[at]) at++;
    if (at > 0 && (!best || at > best.at)) best = { past, at };
  }
  return best;
}

function runDpor(instance: ScenarioInstance, id: number, task: Extract<Task, { kind: 'dpor' }>): TaskResult {
  const branch = new DporBranch(task);
  const from = bestPast(instance, task.prefix);
  const checkpoints: Checkpoint[] = from ? from.past.checkpoints.slice(0, from.at) : [];
  if (from) branch.seed(from.past.footprints.slice(0, from.at), from.past.enabledAt.slice(0, from.at));
  const r = runExecution(instance, branch, 0, {
    checkpoints,
    resume: from && { checkpoint: from.past.checkpoints[from.at], moves: task.prefix.slice(0, from.at) },
  });
  pasts.unshift({
    instance,
    moves: r.moves,
    checkpoints,
    footprints: branch.footprints,
    enabledAt: branch.enabledAt,
  });
  pasts.length = Math.min(pasts.length, PAST_KEPT);
  return { ...resultOf(id, task, r), dpor: branch.report };
}

function resultOf(id: number, task: Task, r: ExecutionResult): TaskResult {
  return {
    id,
    task,
    moves: r.moves,
    steps: r.steps,
    bug: r.bug,
    blocked: r.blocked,
    traceHash: r.traceHash,
    ...(r.lockEdges.length > 0 ? { lockEdges: r.lockEdges } : {}),
    ...(r.covered.length > 0 ? { covered: r.covered } : {}),
  };
}

/**
 * Runs one task, in process or on a worker thread (src/explore/worker.ts). A DPOR task
 * resumes from a checkpoint of an earlier execution on the same path when this thread
 * has one (DESIGN §2, "stateless with state hashing where it pays"): the result is the
 * same as re-running the path, which the checkpoint tests check.
 */
export function runTask(instance: ScenarioInstance, id: number, task: Task): TaskResult {
  if (task.kind === 'dpor') return runDpor(instance, id, task);
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
    case 'bounded':
      strategy = new BoundedBranch(task);
      break;
  }
  strategy.begin(index);
  const r = runExecution(instance, strategy, index);
  const base = resultOf(id, task, r);
  if (strategy instanceof BoundedBranch) return { ...base, enabled: strategy.enabled, states: r.states };
  return base;
}
