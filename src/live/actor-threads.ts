import { MessageChannel, Worker } from 'node:worker_threads';
import type { EventObject } from 'xstate';
import { ModelError } from '../model/errors.ts';
import type { ActorHosting, HostedActor, HostedSnapshot } from '../runtime/actor-host.ts';
import type { ScenarioInstance } from '../scenario/instance.ts';
import type { ActorReply, ActorRequest, SnapshotData } from './actor-worker.ts';
import { LinkTimeout, SyncLink } from './sync-link.ts';

export interface ActorThreadsOptions {
  /** How long one transition may take on its thread before the actor counts as hung. */
  readonly stepTimeoutMs?: number;
  /** How long a thread may take to load the scenario. */
  readonly startTimeoutMs?: number;
}

interface Thread {
  readonly name: string;
  readonly worker: Worker;
  readonly link: SyncLink;
  readonly exited: Promise<void>;
}

/**
 * Every actor of a scenario instance on its own worker thread (`live`, DESIGN §2
 * "Worker threads"). Node's worker_threads rather than piscina: each thread is one
 * long-lived actor, not a pool task, and the runtime calls it synchronously over a
 * SharedArrayBuffer. `hosting()` plugs the threads into an Execution; `close()` ends every
 * thread, hung or not, and resolves when all have exited. Threads are kept from one
 * execution to the next (`reset` gives them fresh machines), even across variants.
 */
export class ActorThreads {
  private readonly threads = new Map<string, Thread>();
  private readonly stepTimeoutMs: number;
  private readonly startTimeoutMs: number;

  constructor(
    /** The scenario module every thread loads. */
    private readonly file: string,
    options: ActorThreadsOptions = {},
  ) {
    this.stepTimeoutMs = options.stepTimeoutMs ?? 5_000;
    this.startTimeoutMs = options.startTimeoutMs ?? 60_000;
  }

  /**
   * Gives each actor of `instance` a fresh machine in its initial state, on its own
   * thread (started the first time an actor of that name is seen). Before each execution.
   */
  reset(instance: ScenarioInstance): void {
    const pending = instance.actors.map((a) => {
      const th = this.threads.get(a.name) ?? this.spawn(a.name);
      const request: ActorRequest = {
        t: 'init',
        file: this.file,
        variant: instance.variant,
        params: instance.params,
        checkers: instance.checkers,
        actor: a.name,
      };
      return { th, reply: th.link.post(request) };
    });
    for (const { th, reply } of pending)
      this.checked(th, () => reply.wait<ActorReply>(this.startTimeoutMs), 'loading the scenario');
  }

  private spawn(name: string): Thread {
    const { port1, port2 } = new MessageChannel();
    const buffer = SyncLink.buffer();
    const worker = new Worker(new URL('./actor-worker-entry.mjs', import.meta.url), {
      workerData: { port: port2, buffer },
      transferList: [port2],
    });
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    // A worker that fails to load shows as a timeout of its first call, named there.
    worker.on('error', () => undefined);
    const th = { name, worker, link: new SyncLink(port1, buffer), exited };
    this.threads.set(name, th);
    return th;
  }

  /** The threads as the Execution's actors. */
  hosting(): ActorHosting {
    return (name, sinks) => {
      const th = this.threads.get(name);
      if (!th) throw new ModelError('invalid', `no thread for actor '${name}'`);
      return new RemoteActor(th, sinks, (call, what) => this.checked(th, call, what), this.stepTimeoutMs);
    };
  }

  /** Ends every thread and waits until all have exited. */
  async close(): Promise<void> {
    const all = [...this.threads.values()];
    for (const th of all) void th.worker.terminate();
    await Promise.all(all.map((th) => th.exited));
  }

  /** How many threads are still running (for tests: none after `close`). */
  get running(): number {
    return [...this.threads.values()].filter((th) => th.worker.threadId >= 0).length;
  }

  private checked(th: Thread, call: () => ActorReply, what: string): Extract<ActorReply, { ok: true }> {
    let reply: ActorReply;
    try {
      reply = call();
    } catch (e) {
      if (!(e instanceof LinkTimeout)) throw e;
      const limit = what === 'loading the scenario' ? this.startTimeoutMs : this.stepTimeoutMs;
      throw new ModelError(
        'machine-error',
        `actor '${th.name}' hangs: its worker thread did not answer within ${limit} ms ${what}`,
        { actor: th.name },
      );
    }
    if (!reply.ok) {
      throw new ModelError(
        'machine-error',
        `actor '${th.name}' failed on its worker thread ${what}: ${reply.message}`,
        {
          actor: th.name,
        },
      );
    }
    return reply;
  }
}

/** An actor on another thread, as the runtime sees it: sends block until the machine has answered. */
class RemoteActor implements HostedActor {
  private snapshot: HostedSnapshot = mirror({ value: {}, context: undefined, status: 'active', tags: [] });

  constructor(
    private readonly thread: Thread,
    private readonly sinks: { readonly emit: (ev: EventObject) => void; readonly fail: (e: unknown) => void },
    private readonly call: (call: () => ActorReply, what: string) => Extract<ActorReply, { ok: true }>,
    private readonly timeoutMs: number,
  ) {}

  start(): void {
    this.apply(this.request({ t: 'start' }, 'starting'));
  }

  send(event: EventObject): void {
    this.apply(this.request({ t: 'send', event }, `handling '${event.type}'`));
  }

  getSnapshot(): HostedSnapshot {
    return this.snapshot;
  }

  private request(req: ActorRequest, what: string) {
    return this.call(() => this.thread.link.call<ActorReply>(req, this.timeoutMs), what);
  }

  private apply(reply: Extract<ActorReply, { ok: true }>): void {
    for (const ev of reply.emitted) this.sinks.emit(ev);
    if (reply.snapshot) this.snapshot = mirror(reply.snapshot);
    if (reply.error !== undefined) this.sinks.fail(new Error(reply.error));
  }
}

function mirror(s: SnapshotData): HostedSnapshot {
  const tags = new Set(s.tags);
  return { value: s.value, context: s.context, status: s.status, hasTag: (tag) => tags.has(tag) };
}
