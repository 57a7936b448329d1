import type { ScenarioInstance } from '../scenario/instance.ts';
import { runTask } from './run-task.ts';
import type { Search, TaskResult } from './search.ts';
import type { WorkerTarget } from './worker.ts';
import type { WorkerPool } from './worker-pool.ts';

export type StopReason = 'exhausted' | 'bug' | 'max-schedules' | 'budget' | 'interrupted';

export interface ExploreOptions {
  readonly maxSchedules: number;
  readonly budgetMs: number;
  readonly signal?: AbortSignal;
  /** Run executions on this pool (the scenario must come from a file the workers can load). */
  readonly pool?: { readonly pool: WorkerPool; readonly target: WorkerTarget };
  /** Called with every judged result, in the order the search judged them. */
  readonly onResult?: (r: TaskResult, schedules: number) => void;
}

export interface ExploreOutcome {
  readonly stop: StopReason;
  readonly schedules: number;
  readonly steps: number;
  /** The first judged result with a bug. */
  readonly bug?: TaskResult;
  readonly elapsedMs: number;
}

/**
 * Drives a search (DESIGN §2, "Exploration"): hands its executions to the worker pool,
 * or runs them in process, and feeds the results back in the order the search asks for
 * them. Stops at the first bug, when the search is exhausted, at the schedule limit or
 * the time budget, or on abort. In process it yields to the event loop every 50 ms, so
 * progress and Ctrl-C get through.
 */
export async function explore(
  instance: ScenarioInstance,
  search: Search,
  options: ExploreOptions,
): Promise<ExploreOutcome> {
  const started = performance.now();
  const ready = new Map<number, TaskResult>();
  const inflight = new Map<number, Promise<void>>();
  let failure: unknown;
  let schedules = 0;
  let steps = 0;
  let sliceEnd = started + 50;
  const cap = options.pool ? options.pool.pool.size * 2 : 1;
  const done = (stop: StopReason, bug?: TaskResult): ExploreOutcome => ({
    stop,
    schedules,
    steps,
    bug,
    elapsedMs: performance.now() - started,
  });
  try {
    for (;;) {
      if (options.signal?.aborted) return done('interrupted');
      if (schedules >= options.maxSchedules) return done('max-schedules');
      if (performance.now() - started >= options.budgetMs) return done('budget');
      const want = search.awaiting();
      if (want === undefined) return done('exhausted');
      const more = () =>
        !(ready.has(want) || inflight.has(want)) || (options.pool !== undefined && inflight.size < cap);
      while (more()) {
        const t = search.next();
        if (!t) break;
        if (!options.pool) {
          ready.set(t.id, runTask(instance, t.id, t.task));
          continue;
        }
        const { pool, target } = options.pool;
        const p = pool.run({ target, id: t.id, task: t.task }).then(
          (r) => {
            ready.set(t.id, r);
            inflight.delete(t.id);
          },
          (e) => {
            failure ??= e;
            inflight.delete(t.id);
          },
        );
        inflight.set(t.id, p);
      }
      if (failure) throw failure;
      const r = ready.get(want);
      if (!r) {
        if (inflight.size === 0)
          throw new Error(`search '${search.name}' waits for execution ${want}, never handed out`);
        await Promise.race(inflight.values());
        continue;
      }
      ready.delete(want);
      search.accept(r);
      schedules++;
      steps += r.steps;
      options.onResult?.(r, schedules);
      if (r.bug) return done('bug', r);
      if (performance.now() >= sliceEnd) {
        await new Promise((resolve) => setImmediate(resolve));
        sliceEnd = performance.now() + 50;
      }
    }
  } finally {
    // Executions handed out ahead of need are dropped; their workers finish them unseen.
    await Promise.allSettled(inflight.values());
  }
}
