import { Worker } from 'node:worker_threads';
import { ModelError, type ModelErrorKind } from '../model/errors.ts';
import type { ScenarioInstance } from '../scenario/instance.ts';
import type { FreeReply, FreeRequest } from './actor-worker.ts';
import type { LiveLog } from './free-runner.ts';
import { makeWorldBuffers, SharedWorld, Status } from './shared-world.ts';
import { SyncLink } from './sync-link.ts';

export interface LiveRunOptions {
  /** A run that has not settled by then is stopped (its steps so far are still checked). */
  readonly runTimeoutMs?: number;
  /** How long a thread may take to answer the stop before it counts as hung. */
  readonly stopGraceMs?: number;
  /** A run in which no thread has taken a step for this long, while one is running, is stopped. */
  readonly stallMs?: number;
}

/** One free-running run: every actor's log, and how it ended. */
export interface LiveRun {
  readonly logs: readonly LiveLog[];
  /** `done`: every machine finished; `settled`: nothing could move any more (idle, blocked); `timeout`: stopped. */
  readonly end: 'done' | 'settled' | 'timeout';
  readonly ms: number;
}

const POLL_MS = 1;

/**
 * Free-running `live` (DESIGN §2, "Worker threads"): every actor of the instance on its
 * own worker thread, all running at once over one shared world (shared-world.ts), with
 * no scheduler in between. A run ends when every machine is done, or when nothing has
 * moved for two polls while no thread is running and no message is in flight (the rest
 * idle or blocked on a lock), or at the run timeout, or when no step has been taken for
 * `stallMs`. A thread that throws, or does not answer the stop, is reported with its
 * actor's name; `close()` ends every thread.
 */
export class LiveRunner {
  private readonly world: SharedWorld;
  private readonly workers: Worker[] = [];
  private readonly exited: Promise<void>[] = [];
  private readonly replies: ((r: FreeReply) => void)[] = [];
  private readonly runTimeoutMs: number;
  private readonly stopGraceMs: number;
  private readonly stallMs: number;

  constructor(
    private readonly instance: ScenarioInstance,
    private readonly file: string,
    options: LiveRunOptions = {},
  ) {
    this.runTimeoutMs = options.runTimeoutMs ?? 10_000;
    this.stopGraceMs = options.stopGraceMs ?? 2_000;
    this.stallMs = options.stallMs ?? 5_000;
    const names = instance.actors.map((a) => a.name);
    this.world = new SharedWorld(makeWorldBuffers(instance.image, instance.locks, names));
    names.forEach((_, i) => {
      // The controlled mode's entry: the sync link goes unused in free runs.
      const w = new Worker(new URL('./actor-worker-entry.mjs', import.meta.url), {
        workerData: { port: undefined, buffer: SyncLink.buffer() },
      });
      w.on('message', (r: FreeReply) => this.replies[i]?.(r));
      w.on('error', (e) => this.replies[i]?.({ t: 'error', actor: names[i], message: e.message }));
      this.exited.push(new Promise((resolve) => w.once('exit', () => resolve())));
      this.workers.push(w);
    });
  }

  /** One run from the initial state. Throws a ModelError naming an actor that threw or hung. */
  async run(): Promise<LiveRun> {
    const w = this.world;
    const names = this.instance.actors.map((a) => a.name);
    w.reset(this.instance.image);
    const started = performance.now();
    const logs = names.map(
      (actor, i) =>
        new Promise<FreeReply>((resolve) => {
          this.replies[i] = resolve;
          const req: FreeRequest = {
            t: 'free',
            file: this.file,
            variant: this.instance.variant,
            params: this.instance.params,
            checkers: this.instance.checkers,
            actor,
            world: w.buffers,
          };
          this.workers[i].postMessage(req);
        }),
    );
    let failure: FreeReply | undefined;
    for (const p of logs) void p.then((r) => (failure ??= r.t === 'error' ? r : undefined));
    let end: LiveRun['end'] = 'timeout';
    let quiet = 0;
    let tickets = -1;
    let moved = performance.now();
    while (performance.now() - started < this.runTimeoutMs && !failure) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      const statuses = names.map((_, i) => w.status(i));
      // Threads still starting (loading the scenario) are not stalled.
      if (w.tickets() !== tickets || statuses.includes(0 as Status)) moved = performance.now();
      // A thread that runs without taking steps is stuck in its machine (the stop names it).
      else if (performance.now() - moved > this.stallMs) break;
      if (statuses.every((s) => s === Status.Done)) {
        end = 'done';
        break;
      }
      const still = statuses.every((s) => s === Status.Idle || s === Status.Blocked || s === Status.Done);
      const t = w.tickets();
      quiet = still && !w.anyWaiting() && t === tickets ? quiet + 1 : 0;
      tickets = t;
      if (quiet >= 2) {
        end = 'settled';
        break;
      }
    }
    w.stop();
    const grace = new Promise<'hung'>((resolve) =>
      setTimeout(() => resolve('hung'), this.stopGraceMs).unref(),
    );
    const replies = await Promise.all(logs.map((p) => Promise.race([p, grace])));
    const hung = replies.findIndex((r) => r === 'hung');
    if (hung >= 0) {
      throw new ModelError(
        'machine-error',
        `actor '${names[hung]}' hangs: its worker thread did not stop within ${this.stopGraceMs} ms of the end of the run`,
        { actor: names[hung] },
      );
    }
    const error = (failure ?? replies.find((r) => r !== 'hung' && r.t === 'error')) as
      | Extract<FreeReply, { t: 'error' }>
      | undefined;
    if (error) {
      const named = error.message.startsWith(`actor '${error.actor}'`);
      throw new ModelError(
        (error.kind as ModelErrorKind | undefined) ?? 'machine-error',
        named ? error.message : `actor '${error.actor}' failed on its worker thread: ${error.message}`,
        { actor: error.actor },
      );
    }
    return {
      logs: replies.map((r) => (r as Extract<FreeReply, { t: 'log' }>).log),
      end,
      ms: performance.now() - started,
    };
  }

  /** Ends every thread (a hung one too) and resolves when all have exited. */
  async close(): Promise<void> {
    this.world.stop();
    for (const w of this.workers) void w.terminate();
    await Promise.all(this.exited);
  }

  get running(): number {
    return this.workers.filter((w) => w.threadId >= 0).length;
  }
}
