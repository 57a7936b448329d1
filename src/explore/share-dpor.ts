import { MessageChannel } from 'node:worker_threads';
import { ModelError } from '../model/errors.ts';
import type { ScenarioInstance } from '../scenario/instance.ts';
import type { DporRoot } from '../strategies/dpor.ts';
import type { TaskResult } from './search.ts';
import type { SubtreeLog, SubtreeTask } from './subtree-work.ts';
import { Coordinator, type FromRunner, Runner, type RunnerStats } from './work-sharing.ts';
import type { WorkerTarget } from './worker.ts';
import type { WorkerPool } from './worker-pool.ts';

export interface ShareOptions {
  readonly pool: WorkerPool;
  readonly target: WorkerTarget;
  readonly signal?: AbortSignal;
  /** When to give up (performance.now() time). */
  readonly deadline: number;
  /** The first execution of the first lane, which the main thread runs. */
  readonly onFirst?: (r: TaskResult) => void;
  /** Executions run so far on all threads, and how many were complete. */
  readonly onProgress?: (ran: number, complete: number) => void;
}

export type ShareOutcome =
  | { readonly kind: 'done'; readonly logs: readonly SubtreeLog[] }
  | { readonly kind: 'stopped'; readonly reason: 'interrupted' | 'budget'; readonly stats: RunnerStats[] };

/**
 * Runs the exhaustive lanes of a phase on the main thread and every pool thread at once,
 * sharing subtrees between them (src/explore/work-sharing.ts). The lanes' logs are what
 * running each lane alone, depth-first, gives, and each stops at its first bug or at
 * `cap` executions. Interrupted or out of time, it returns what every thread ran instead.
 */
export async function shareDpor(
  instance: ScenarioInstance,
  roots: readonly DporRoot[],
  cap: number,
  options: ShareOptions,
): Promise<ShareOutcome> {
  const tasks: SubtreeTask[] = roots.map((root, k) => ({ id: `L${k}`, root, cap }));
  const inbox: [number, FromRunner][] = [];
  let wake: (() => void) | undefined;
  const deliver = (from: number, m: FromRunner) => {
    inbox.push([from, m]);
    wake?.();
  };
  let first = options.onFirst;
  const local = new Runner(
    instance,
    (m) => deliver(0, m),
    (r) => {
      first?.(r);
      first = undefined;
    },
  );
  const channels = Array.from({ length: options.pool.size }, () => new MessageChannel());
  const progress = channels.map(() => ({ ran: 0, complete: 0 }));
  const coordinator = new Coordinator(
    tasks,
    [
      (m) => local.receive(m),
      ...channels.map((c) => (m: Parameters<typeof c.port1.postMessage>[0]) => c.port1.postMessage(m)),
    ],
    (from, ran, complete) => {
      progress[from - 1] = { ran, complete };
    },
  );
  channels.forEach((c, k) => {
    c.port1.on('message', (m: FromRunner) => deliver(k + 1, m));
  });
  const remote = channels.map((c) => options.pool.share({ target: options.target, port: c.port2 }));
  let stopped: 'interrupted' | 'budget' | undefined;
  let lastProgress = performance.now();
  try {
    coordinator.start();
    for (;;) {
      for (let m = inbox.shift(); m; m = inbox.shift()) coordinator.handle(m[0], m[1]);
      const error = coordinator.error;
      if (error?.t === 'error') {
        if (error.kind) throw new ModelError(error.kind, error.message, error.where);
        throw new Error(`a worker thread failed: ${error.message}`);
      }
      if (coordinator.finished) break;
      if (options.signal?.aborted) stopped = 'interrupted';
      else if (performance.now() >= options.deadline) stopped = 'budget';
      if (stopped) break;
      const worked = local.tick();
      const now = performance.now();
      if (now - lastProgress >= 100) {
        lastProgress = now;
        options.onProgress?.(
          local.ran + progress.reduce((n, p) => n + p.ran, 0),
          local.complete + progress.reduce((n, p) => n + p.complete, 0),
        );
      }
      // Let the workers' messages in; when there is nothing to run here, until one comes
      // (the local runner's own messages, such as `idle`, are handled first).
      await new Promise<void>((resolve) => {
        if (worked || inbox.length > 0) setImmediate(resolve);
        else {
          wake = resolve;
          setTimeout(resolve, 50);
        }
      });
      wake = undefined;
    }
  } finally {
    coordinator.stop();
    // A thread still starting reads `stop` first thing; its ports close once it has.
    void Promise.allSettled(remote).then(() => {
      for (const c of channels) c.port1.close();
    });
  }
  if (stopped) {
    const stats = await Promise.allSettled(remote);
    const ran = stats.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    return { kind: 'stopped', reason: stopped, stats: [local.stats(), ...ran] };
  }
  return { kind: 'done', logs: coordinator.roots.map((r) => r!) };
}
