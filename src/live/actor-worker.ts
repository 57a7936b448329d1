import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { type Actor, type AnyStateMachine, createActor, type EventObject, type StateValue } from 'xstate';
import type { CheckerSettings } from '../checkers/settings.ts';
import type { ParamValue } from '../scenario/define-scenario.ts';
import { instantiate, type ScenarioInstance } from '../scenario/instance.ts';
import { loadScenarioFile } from '../scenario/load.ts';
import { freeRun, type LiveLog } from './free-runner.ts';
import { SharedWorld, type SharedWorldBuffers } from './shared-world.ts';
import { answer } from './sync-link.ts';

/** What the main thread asks of an actor's worker. */
export type ActorRequest =
  | {
      readonly t: 'init';
      readonly file: string;
      readonly variant: string;
      readonly params: Readonly<Record<string, ParamValue>>;
      readonly checkers: CheckerSettings;
      readonly actor: string;
    }
  | { readonly t: 'start' }
  | { readonly t: 'send'; readonly event: EventObject };

/** The machine's state as it crosses back: plain data. */
export interface SnapshotData {
  readonly value: StateValue;
  readonly context: unknown;
  readonly status: string;
  readonly tags: readonly string[];
}

export type ActorReply =
  | {
      readonly ok: true;
      readonly emitted: readonly EventObject[];
      readonly snapshot?: SnapshotData;
      readonly error?: string;
    }
  | { readonly ok: false; readonly message: string };

/**
 * One actor's machine on its own thread (`live --controlled`, DESIGN §2 "Worker
 * threads"): it builds the same scenario instance as the main thread, runs the actor's
 * xstate machine, and answers each request with what the machine emitted and its new
 * snapshot.
 */
const { port, buffer } = workerData as { port?: MessagePort; buffer: SharedArrayBuffer };
let actor: Actor<AnyStateMachine> | undefined;
const emitted: EventObject[] = [];
let failure: unknown;

function snapshotData(): SnapshotData {
  const s = actor!.getSnapshot();
  return { value: s.value, context: s.context, status: s.status, tags: [...s.tags] };
}

async function handle(req: ActorRequest): Promise<ActorReply> {
  if (req.t === 'init') {
    const loaded = await loadScenarioFile(req.file);
    const inst = instantiate(loaded.scenario, req.variant, req.params, req.checkers);
    const spec = inst.actors.find((a) => a.name === req.actor);
    if (!spec) return { ok: false, message: `scenario '${inst.scenario.name}' has no actor '${req.actor}'` };
    actor = createActor(spec.machine, { input: spec.input, id: spec.name });
    actor.on('*', (ev) => {
      emitted.push(ev);
    });
    actor.subscribe({
      error: (e) => {
        failure = e;
      },
    });
    return { ok: true, emitted: [] };
  }
  if (!actor) return { ok: false, message: 'the actor was not initialised' };
  if (req.t === 'start') actor.start();
  else actor.send(req.event);
  const error =
    failure === undefined ? undefined : failure instanceof Error ? failure.message : String(failure);
  failure = undefined;
  return { ok: true, emitted: emitted.splice(0), snapshot: snapshotData(), ...(error ? { error } : {}) };
}

port?.on('message', (req: ActorRequest) => {
  handle(req).then(
    (reply) => {
      try {
        answer(port!, buffer, reply);
      } catch (e) {
        // A context that cannot be cloned to another thread (a function, say).
        answer(port, buffer, {
          ok: false,
          message: `its reply cannot cross threads: ${(e as Error).message}`,
        });
      }
    },
    (e: unknown) => answer(port!, buffer, { ok: false, message: e instanceof Error ? e.message : String(e) }),
  );
});

/** A free-running run (`live` without --controlled): the main thread posts it on the worker's own port. */
export interface FreeRequest {
  readonly t: 'free';
  readonly file: string;
  readonly variant: string;
  readonly params: Readonly<Record<string, ParamValue>>;
  readonly checkers: CheckerSettings;
  readonly actor: string;
  readonly world: SharedWorldBuffers;
}

export type FreeReply =
  | { readonly t: 'log'; readonly log: LiveLog }
  | { readonly t: 'error'; readonly actor: string; readonly kind?: string; readonly message: string };

const instances = new Map<string, Promise<ScenarioInstance>>();
let world: SharedWorld | undefined;

parentPort?.on('message', (req: FreeRequest) => {
  const key = JSON.stringify([req.file, req.variant, req.params, req.checkers]);
  let inst = instances.get(key);
  if (!inst) {
    inst = loadScenarioFile(req.file).then((l) =>
      instantiate(l.scenario, req.variant, req.params, req.checkers),
    );
    instances.set(key, inst);
  }
  if (world?.buffers.memory !== req.world.memory) world = new SharedWorld(req.world);
  const w = world;
  inst.then(
    (i) => {
      try {
        parentPort!.postMessage({ t: 'log', log: freeRun(i, req.actor, w) } satisfies FreeReply);
      } catch (e) {
        const kind = (e as { kind?: string }).kind;
        parentPort!.postMessage({
          t: 'error',
          actor: req.actor,
          ...(kind ? { kind } : {}),
          message: e instanceof Error ? e.message : String(e),
        } satisfies FreeReply);
      }
    },
    (e: unknown) =>
      parentPort!.postMessage({
        t: 'error',
        actor: req.actor,
        message: e instanceof Error ? e.message : String(e),
      } satisfies FreeReply),
  );
});
