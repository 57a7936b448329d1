import { ModelError } from '../model/errors.ts';
import type { ParamValue } from '../scenario/define-scenario.ts';
import { instantiate, type ScenarioInstance } from '../scenario/instance.ts';
import { loadScenarioFile } from '../scenario/load.ts';
import { runTask } from './run-task.ts';
import type { Task, TaskResult } from './search.ts';

/** What a worker needs to rebuild the scenario instance a task runs on. */
export interface WorkerTarget {
  readonly file: string;
  readonly variant: string;
  readonly params: Readonly<Record<string, ParamValue>>;
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

const instances = new Map<string, Promise<ScenarioInstance>>();

/** The piscina worker (DESIGN §2, "Worker threads"): one whole execution per call. */
export default async function runOnWorker(req: WorkerRequest): Promise<WorkerReply> {
  const key = JSON.stringify(req.target);
  let inst = instances.get(key);
  if (!inst) {
    const { file, variant, params } = req.target;
    inst = loadScenarioFile(file).then((l) => instantiate(l.scenario, variant, params));
    instances.set(key, inst);
  }
  try {
    return { ok: true, result: runTask(await inst, req.id, req.task) };
  } catch (e) {
    if (e instanceof ModelError) return { ok: false, kind: e.kind, message: e.message, where: e.where };
    throw e;
  }
}
