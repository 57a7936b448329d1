import type { ModelError } from '../model/errors.ts';
import type { Bug } from '../runtime/step.ts';
import type { ScenarioInstance } from '../scenario/instance.ts';
import type { TaskResult } from './search.ts';
import { type SubtreeLog, type SubtreeTask, SubtreeWork } from './subtree-work.ts';

/**
 * Work sharing for the exhaustive search across threads (DESIGN §2, "Exploration").
 *
 * Each thread has a Runner: a stack of subtree works, the top one running. The
 * Coordinator, on the main thread, hands out tasks. When a runner has nothing to do (its
 * stack is empty, or its top waits for a subtree it gave away), the coordinator asks a
 * busy runner to give a subtree away and hands it over, the way work-stealing schedulers
 * do. A runner gives from the bottom of its stack, where the subtrees are largest. Logs of
 * subtrees given away go back to the runner that gave them, which merges them in its own
 * depth-first order (src/explore/subtree-work.ts): what the search decides does not
 * depend on the number of threads or on timing, only on the scenario.
 *
 * No deadlock: a task waits only for tasks started after it (the subtree it gave away,
 * or a task pushed above it on its own stack), so waiting never goes round in a circle.
 */

/** Coordinator → runner. */
export type ToRunner =
  | { readonly t: 'run'; readonly task: SubtreeTask }
  | { readonly t: 'log'; readonly log: SubtreeLog }
  | { readonly t: 'steal' }
  /** Drop the tasks `covered` by this (their results can no longer count). */
  | { readonly t: 'cancel'; readonly what: string }
  | { readonly t: 'stop' };

/** Runner → coordinator. */
export type FromRunner =
  | { readonly t: 'idle' }
  | { readonly t: 'gift'; readonly task: SubtreeTask }
  | { readonly t: 'nogift' }
  | { readonly t: 'done'; readonly log: SubtreeLog }
  | { readonly t: 'progress'; readonly ran: number; readonly complete: number }
  | {
      readonly t: 'error';
      /** Absent: not the model's fault (the message carries the stack). */
      readonly kind?: ModelError['kind'];
      readonly message: string;
      readonly where: ModelError['where'];
    };

/**
 * Is task `id` covered by `what`: a task id (that task and every subtree given away from
 * it, however indirectly), or a task id and a dot (only the subtrees it gave away)?
 */
export function covered(id: string, what: string): boolean {
  if (what.endsWith('.')) return id.startsWith(what);
  return id === what || id.startsWith(`${what}.`);
}

/** What a runner ran itself, whether it counts or not (for progress and a stopped run's report). */
export interface RunnerStats {
  readonly ran: number;
  readonly complete: number;
  readonly blocked: number;
  readonly steps: number;
  readonly states: readonly number[];
  /** The first bug it met, with its schedule. */
  readonly bug?: { readonly bug: Bug; readonly moves: readonly string[] };
}

/** One thread's works; driven by `tick`, told things by `receive`. */
export class Runner {
  ran = 0;
  complete = 0;
  stopped = false;
  private steps = 0;
  private readonly states = new Set<number>();
  private bug: RunnerStats['bug'];
  private readonly stack: SubtreeWork[] = [];
  private readonly logs = new Map<string, SubtreeLog>();
  /** Subtrees this runner gave itself. */
  private readonly mine = new Set<string>();
  private stealAsked = false;
  private saidIdle = false;

  constructor(
    private readonly instance: ScenarioInstance,
    private readonly post: (m: FromRunner) => void,
    private readonly onExecution?: (r: TaskResult) => void,
  ) {}

  receive(m: ToRunner): void {
    this.saidIdle = false;
    switch (m.t) {
      case 'run':
        this.stack.push(new SubtreeWork(this.instance, m.task, this.onExecution));
        break;
      case 'log':
        this.logs.set(m.log.id, m.log);
        break;
      case 'steal':
        this.stealAsked = true;
        break;
      case 'cancel':
        for (const w of this.stack) if (covered(w.task.id, m.what)) w.stopped = 'cancelled';
        for (const id of this.logs.keys()) if (covered(id, m.what)) this.logs.delete(id);
        break;
      case 'stop':
        this.stopped = true;
        break;
    }
  }

  /** Does one unit of work (an execution, or merging a log); false if there was none to do. */
  tick(): boolean {
    if (this.stopped) return false;
    if (this.stealAsked) {
      const task = this.give();
      if (task) {
        this.stealAsked = false;
        this.post({ t: 'gift', task });
      }
    }
    const top = this.stack.at(-1);
    const state = top ? top.advance(this.logs) : 'waiting';
    if (state === 'done') {
      this.stack.pop();
      // A subtree this runner gave itself goes straight back to its giver below.
      if (this.mine.delete(top!.task.id)) this.logs.set(top!.task.id, top!.log);
      else this.post({ t: 'done', log: top!.log });
      return true;
    }
    if (state === 'ran') {
      const e = top!.entries.at(-1)!;
      this.ran++;
      if (!e.blocked) this.complete++;
      this.steps += e.steps;
      for (const h of e.states) this.states.add(h);
      if (e.bug && !this.bug) this.bug = { bug: e.bug, moves: e.moves ?? [] };
      return true;
    }
    if (state === 'merged') return true;
    // Its top waits for a subtree given away: rather than wait, take another part of its own stack.
    const own = top && this.give();
    if (own) {
      this.mine.add(own.id);
      this.stack.push(new SubtreeWork(this.instance, own, this.onExecution));
      return true;
    }
    // Nothing to do until a task or a log arrives.
    if (this.stealAsked) {
      this.stealAsked = false;
      this.post({ t: 'nogift' });
    }
    if (!this.saidIdle) {
      this.saidIdle = true;
      this.post({ t: 'idle' });
    }
    return false;
  }

  stats(): RunnerStats {
    const { ran, complete, steps, bug } = this;
    return {
      ran,
      complete,
      blocked: ran - complete,
      steps,
      states: [...this.states],
      ...(bug ? { bug } : {}),
    };
  }

  /** A subtree to give away, from the bottom of the stack, where subtrees are largest. */
  private give(): SubtreeTask | undefined {
    for (const w of this.stack) {
      const task = w.donate();
      if (task) return task;
    }
    return undefined;
  }
}

interface Remote {
  readonly send: (m: ToRunner) => void;
  idle: boolean;
  /** A steal request is out to this runner. */
  asked: boolean;
}

/**
 * The main thread's side: hands out the lanes' root tasks and the subtrees runners give
 * away, routes logs back to their givers, and collects the roots' logs.
 */
export class Coordinator {
  /** The roots' logs, by lane; complete once every lane has one. */
  readonly roots: (SubtreeLog | undefined)[];
  private readonly queue: SubtreeTask[];
  private readonly runners: Remote[];
  /** Task id → the runner that gave it away (its log goes back there). */
  private readonly giver = new Map<string, number>();
  private readonly cancelled: string[] = [];
  error: FromRunner | undefined;

  constructor(
    tasks: readonly SubtreeTask[],
    sends: readonly ((m: ToRunner) => void)[],
    private readonly onProgress?: (from: number, ran: number, complete: number) => void,
  ) {
    this.roots = tasks.map(() => undefined);
    this.queue = [...tasks];
    this.runners = sends.map((send) => ({ send, idle: true, asked: false }));
  }

  get finished(): boolean {
    return this.error !== undefined || this.roots.every((r) => r !== undefined);
  }

  /** Starts: runner 0 (the main thread) takes the first lane's root. */
  start(): void {
    this.dispatch();
  }

  handle(from: number, m: FromRunner): void {
    const r = this.runners[from];
    switch (m.t) {
      case 'idle':
        r.idle = true;
        r.asked = false;
        break;
      case 'gift':
        this.giver.set(m.task.id, from);
        this.queue.push(m.task);
        r.asked = false;
        break;
      case 'nogift':
        r.asked = false;
        break;
      case 'done':
        this.done(m.log);
        break;
      case 'progress':
        this.onProgress?.(from, m.ran, m.complete);
        break;
      case 'error':
        this.error ??= m;
        break;
    }
    this.dispatch();
  }

  stop(): void {
    for (const r of this.runners) r.send({ t: 'stop' });
  }

  private done(log: SubtreeLog): void {
    if (this.cancelled.some((c) => covered(log.id, c))) return;
    const lane = /^L(\d+)$/.exec(log.id);
    if (lane) {
      const k = Number(lane[1]);
      this.roots[k] = log;
      // Lanes after one that stopped early cannot count.
      if (log.stopped) for (let j = k + 1; j < this.roots.length; j++) this.cancel(`L${j}`);
    } else {
      const to = this.giver.get(log.id);
      this.giver.delete(log.id);
      if (to !== undefined) {
        this.runners[to].send({ t: 'log', log });
        this.runners[to].idle = false;
      }
    }
    // What it gave away and has not taken back can no longer count.
    if (log.stopped) this.cancel(`${log.id}.`);
  }

  /** Drops the tasks `what` covers; a lane's root dropped counts as explored no further. */
  private cancel(what: string): void {
    this.cancelled.push(what);
    for (let k = this.queue.length - 1; k >= 0; k--)
      if (covered(this.queue[k].id, what)) this.queue.splice(k, 1);
    const lane = /^L(\d+)$/.exec(what);
    if (lane && !this.roots[Number(lane[1])]) this.roots[Number(lane[1])] = { id: what, entries: [] };
    for (const r of this.runners) r.send({ t: 'cancel', what });
  }

  /** Idle runners take queued tasks; if none are queued, busy runners are asked to give. */
  private dispatch(): void {
    if (this.finished) return;
    for (const r of this.runners) {
      if (!r.idle) continue;
      const task = this.queue.shift();
      if (!task) break;
      r.idle = false;
      r.send({ t: 'run', task });
    }
    if (this.runners.some((r) => r.idle)) {
      for (const r of this.runners) {
        if (r.idle || r.asked) continue;
        r.asked = true;
        r.send({ t: 'steal' });
      }
    }
  }
}
