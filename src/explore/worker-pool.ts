import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { ModelError } from '../model/errors.ts';
import type { TaskResult } from './search.ts';
import type { RunnerStats } from './work-sharing.ts';
import type { ShareRequest, WorkerReply, WorkerRequest } from './worker.ts';

/**
 * A piscina pool of worker threads that run executions (DESIGN §2, "Worker threads").
 * Workers load TypeScript through tsx, as the main thread does (worker-entry.mjs).
 */
export class WorkerPool {
  private readonly pool: Piscina<
    WorkerRequest | ShareRequest | string,
    WorkerReply | RunnerStats | undefined
  >;

  constructor(readonly size: number) {
    this.pool = new Piscina({
      filename: new URL('./worker-entry.mjs', import.meta.url).href,
      minThreads: size,
      maxThreads: size,
      idleTimeout: 60_000,
      resourceLimits: { maxYoungGenerationSizeMb: 64 },
    });
  }

  async run(req: WorkerRequest): Promise<TaskResult> {
    const reply = (await this.pool.run(req)) as WorkerReply;
    if (reply.ok) return reply.result;
    throw new ModelError(reply.kind, reply.message, reply.where);
  }

  /** Has every thread load a scenario file now, so that it is ready when work comes. */
  warm(file: string): void {
    for (let k = 0; k < this.size; k++) void this.pool.run(file, { name: 'warm' }).catch(() => undefined);
  }

  /** Occupies one thread with a share of the exhaustive search until told to stop (src/explore/share-dpor.ts). */
  async share(req: ShareRequest): Promise<RunnerStats> {
    return (await this.pool.run(req, { name: 'share', transferList: [req.port] })) as RunnerStats;
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}

/** The default worker count: one per core. */
export function defaultWorkers(): number {
  return availableParallelism();
}
