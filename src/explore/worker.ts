import { type MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import type { CheckerSettings } from '../checkers/settings.ts';
import { ModelError } from '../model/errors.ts';
import type { ParamValue } from '../scenario/define-scenario.ts';
import { instantiate, type ScenarioInstance, withCoverage } from '../scenario/instance.ts';
import { loadScenarioFile } from '../scenario/load.ts';
import { runTask } from './run-task.ts';
import type { Task, TaskResult } from './search.ts';
import { Runner, type RunnerStats, type ToRunner } from './work-sharing.ts';

/** What a worker needs to rebuild the scenario instance a task runs on. */
export interface WorkerTarget {
  readonly file: string;
  readonly variant: string;
  readonly params: Readonly<Record<string, ParamValue>>;
  /** The checkers the main thread runs with: a worker's verdicts must be its verdicts. */
  readonly checkers: CheckerSettings;
  /** Executions record the transitions they take. */
  readonly coverage?: boolean;
}

export interface WorkerRequest {
  readonly target: WorkerTarget;
  readonly id: number;
  readonly task: Task;
}

/** A ModelError crosses the thread boundary as data, and is rebuilt on the other side. */
export type WorkerReply =
  | { readonly ok: true; readonly result: TaskResult }
  | {
      readonly ok: false;
      readonly kind: ModelError['kind'];
      readonly message: string;
      readonly where: ModelError['where'];
    };

/** A thread's part in sharing the exhaustive search (src/explore/share-dpor.ts). */
export interface ShareRequest {
  readonly target: WorkerTarget;
  readonly port: MessagePort;
}

const files = new Map<string, ReturnType<typeof loadScenarioFile>>();
const instances = new Map<string, Promise<ScenarioInstance>>();

function fileOf(file: string): ReturnType<typeof loadScenarioFile> {
  let loaded = files.get(file);
  if (!loaded) {
    loaded = loadScenarioFile(file);
    files.set(file, loaded);
  }
  return loaded;
}

function instanceOf(target: WorkerTarget): Promise<ScenarioInstance> {
  const key = JSON.stringify(target);
  let inst = instances.get(key);
  if (!inst) {
    const { file, variant, params, checkers, coverage } = target;
    inst = fileOf(file).then((l) => {
      const i = instantiate(l.scenario, variant, params, checkers);
      return coverage ? withCoverage(i) : i;
    });
    instances.set(key, inst);
  }
  return inst;
}

/** Loads (compiles and imports) a scenario file ahead of need, while the main thread starts. */
export async function warm(file: string): Promise<void> {
  await fileOf(file).catch(() => undefined);
}

/**
 * Runs a Runner until the main thread says stop: between executions it takes the
 * coordinator's messages without going back to the event loop; with nothing to run, it
 * sleeps a millisecond at a time. Returns what it ran.
 */
export async function share(req: ShareRequest): Promise<RunnerStats> {
  const port = req.port;
  const runner = new Runner(await instanceOf(req.target), (m) => port.postMessage(m));
  const nap = new Int32Array(new SharedArrayBuffer(4));
  let lastProgress = performance.now();
  try {
    while (!runner.stopped) {
      for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port))
        runner.receive(m.message as ToRunner);
      if (runner.stopped) break;
      if (!runner.tick()) Atomics.wait(nap, 0, 0, 1);
      const now = performance.now();
      if (now - lastProgress >= 100) {
        lastProgress = now;
        port.postMessage({ t: 'progress', ran: runner.ran, complete: runner.complete });
      }
    }
  } catch (e) {
    if (e instanceof ModelError)
      port.postMessage({ t: 'error', kind: e.kind, message: e.message, where: e.where });
    else
      port.postMessage({
        t: 'error',
        message: e instanceof Error ? (e.stack ?? e.message) : String(e),
        where: {},
      });
  } finally {
    port.close();
  }
  return runner.stats();
}

/** The piscina worker (DESIGN §2, "Worker threads"): one whole execution per call. */
export default async function runOnWorker(req: WorkerRequest): Promise<WorkerReply> {
  const inst = instanceOf(req.target);
  try {
    return { ok: true, result: runTask(await inst, req.id, req.task) };
  } catch (e) {
    if (e instanceof ModelError) return { ok: false, kind: e.kind, message: e.message, where: e.where };
    throw e;
  }
}
