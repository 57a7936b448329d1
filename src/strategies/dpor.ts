import type { Search, TaskResult } from '../explore/search.ts';
import { dependent, type Move, moveKey } from '../runtime/step.ts';
import { type BranchReport, DporBranch, type DporBranchTask, type Sleeper } from './dpor-branch.ts';
import type { ExecutionSummary, Strategy } from './strategy.ts';

export type { Sleeper } from './dpor-branch.ts';

/** Where a DPOR search starts: a fixed schedule prefix and the sleep set after it (a shard's part). */
export interface DporRoot {
  readonly moves: readonly string[];
  readonly sleep: readonly Sleeper[];
}

export interface DporTask extends DporBranchTask {
  readonly kind: 'dpor';
  /** The node whose backtrack move the task tries (-1: the first execution). */
  readonly depth: number;
}

interface Handed {
  readonly key: string;
  readonly id: number;
  /** Known once its result has arrived, before it is judged. */
  footprint?: Sleeper['footprint'];
}

interface Node {
  readonly enabled: readonly Move[];
  /** The sleep set on arrival: moves whose interleavings an earlier branch covers. */
  readonly sleep: readonly Sleeper[];
  /** Actors to explore from here, in the order they were added. */
  readonly backtrack: string[];
  /** Moves explored from here, in order, with the footprints they had. */
  readonly done: Sleeper[];
  /** Backtrack moves handed out as tasks and not yet judged, in order. */
  readonly handed: Handed[];
  /** The move the current path takes here. */
  taken: string;
}

/**
 * Exhaustive depth-first search with source-set dynamic partial-order reduction and
 * sleep sets (Abdulla, Aronis, Jonsson and Sagonas, "Source Sets", JACM 2017, Algorithm 1),
 * stateless: every execution re-runs from the start. Each race (i, j) of an execution
 * (dependent steps of different actors, nothing in between ordering them) asks that, at
 * the node before step i, some actor that can start the reversed order is explored
 * (src/strategies/dpor-races.ts). Sleep sets (Godefroid 1996) keep two equivalent
 * complete executions from both being run; an execution whose every enabled move
 * sleeps is abandoned (`blocked`).
 *
 * Actors are DPOR's processes. An actor with several moves at a node (the options of a
 * `choose`, or messages from several senders) has all of them explored when it is.
 *
 * The search judges executions strictly in depth-first order. An execution depends only
 * on its path and on the footprints of the moves explored before it at its node, so the
 * next backtrack move of a node can already run elsewhere once those footprints are
 * known (`next` hands them out deepest first; `peek` learns footprints as results
 * arrive). The search decides the same for any number of workers.
 */
export class DporSearch implements Search {
  readonly name = 'dpor';
  exhausted = false;
  /** Executions run to their end: one per Mazurkiewicz trace. */
  complete = 0;
  /** Executions abandoned because every enabled move slept. */
  blocked = 0;
  private readonly nodes: Node[] = [];
  private nextId = 0;
  /** The first execution, until judged. */
  private first: 'new' | 'handed' | 'judged' = 'new';

  constructor(private readonly root: DporRoot = { moves: [], sleep: [] }) {}

  /** Executions handed out so far. */
  get handedOut(): number {
    return this.nextId;
  }

  next(): { id: number; task: DporTask } | undefined {
    const rootDepth = this.root.moves.length;
    if (this.first === 'new') {
      this.first = 'handed';
      const task: DporTask = {
        kind: 'dpor',
        prefix: this.root.moves,
        sleep: this.root.sleep,
        filterLast: false,
        rootDepth,
        from: rootDepth,
        depth: -1,
      };
      return { id: this.nextId++, task };
    }
    for (let d = this.nodes.length - 1; d >= rootDepth; d--) {
      const node = this.nodes[d];
      // Its sleep set needs the footprints of every move handed out before it here.
      if (node.handed.some((h) => !h.footprint)) continue;
      const key = this.pending(node);
      if (!key) continue;
      const id = this.nextId++;
      const before = node.handed.map((h) => ({ key: h.key, footprint: h.footprint! }));
      node.handed.push({ key, id });
      const task: DporTask = {
        kind: 'dpor',
        prefix: [...this.root.moves, ...this.nodes.slice(rootDepth, d).map((n) => n.taken), key],
        sleep: [...node.sleep, ...node.done, ...before],
        filterLast: true,
        rootDepth,
        from: d,
        depth: d,
      };
      return { id, task };
    }
    return undefined;
  }

  /** The execution the search must judge next; undefined once everything is explored. */
  awaiting(): number | undefined {
    if (this.first !== 'judged') return 0;
    for (let d = this.nodes.length - 1; d >= this.root.moves.length; d--) {
      const node = this.nodes[d];
      if (node.handed.length) return node.handed[0].id;
      if (this.pending(node)) return this.nextId;
    }
    this.exhausted = true;
    return undefined;
  }

  /** A result has arrived (not yet judged): learn its backtrack move's footprint. */
  peek(result: TaskResult): void {
    const task = result.task;
    if (task.kind !== 'dpor' || task.depth < 0 || !result.dpor) return;
    const h = this.nodes[task.depth]?.handed.find((x) => x.id === result.id);
    if (h) h.footprint = result.dpor.footprints[0];
  }

  accept(result: TaskResult): void {
    const task = result.task;
    const report = result.dpor;
    if (task.kind !== 'dpor' || !report) throw new Error('DporSearch was given a result of another kind');
    const moves = result.moves;
    const fps = report.footprints;
    let sleep: readonly Sleeper[];
    let start: number;
    if (task.depth < 0) {
      this.first = 'judged';
      start = this.root.moves.length;
      sleep = this.root.sleep;
    } else {
      const d = task.depth;
      const node = this.nodes[d];
      const h = node.handed.shift();
      if (h?.id !== result.id) throw new Error(`DporSearch judged execution ${result.id} out of order`);
      this.nodes.length = d + 1;
      node.taken = moves[d];
      node.done.push({ key: moves[d], footprint: fps[0] });
      start = d + 1;
      sleep = task.sleep.filter((s) => !dependent(s.footprint, fps[0]));
    }
    for (let k = start; k < start + report.fresh.length; k++) {
      const enabled = report.fresh[k - start];
      const fp = fps[k - task.from];
      const actor = enabled.find((m) => moveKey(m) === moves[k])!.actor;
      this.nodes[k] = {
        enabled,
        sleep,
        backtrack: [actor],
        done: [{ key: moves[k], footprint: fp }],
        handed: [],
        taken: moves[k],
      };
      // A fresh node's only explored move is the one taken: its child keeps what slept here.
      sleep = sleep.filter((s) => !dependent(s.footprint, fp));
    }
    if (result.blocked) this.blocked++;
    else this.complete++;
    for (const fix of report.races) {
      const node = this.nodes[fix.node];
      if (fix.candidates.some((a) => node.backtrack.includes(a))) continue;
      const awake = fix.candidates.find((a) =>
        node.enabled.some((m) => m.actor === a && !node.sleep.some((s) => s.key === moveKey(m))),
      );
      node.backtrack.push(awake ?? fix.candidates[0]);
    }
  }

  /** The next move to explore at a node: an awake move of a backtrack actor not yet explored or handed out. */
  private pending(node: Node): string | undefined {
    for (const actor of node.backtrack) {
      for (const m of node.enabled) {
        if (m.actor !== actor) continue;
        const key = moveKey(m);
        if (node.done.some((d) => d.key === key) || node.handed.some((h) => h.key === key)) continue;
        if (!node.sleep.some((s) => s.key === key)) return key;
      }
    }
    return undefined;
  }
}

/**
 * DPOR as a plain Strategy, for running it in process one execution at a time:
 * `while (s.begin(i)) runExecution(instance, s, i++)`.
 */
export class DporStrategy implements Strategy {
  readonly name = 'dpor';
  readonly tracksReads = true;
  readonly hashesStates = true;
  readonly search: DporSearch;
  private branch: DporBranch | undefined;
  private current: { id: number; task: DporTask } | undefined;

  constructor(root?: DporRoot) {
    this.search = new DporSearch(root);
  }

  get exhausted(): boolean {
    return this.search.exhausted;
  }
  get complete(): number {
    return this.search.complete;
  }
  get blocked(): number {
    return this.search.blocked;
  }

  begin(): boolean {
    if (this.search.awaiting() === undefined) return false;
    this.current = this.search.next();
    if (!this.current) return false;
    this.branch = new DporBranch(this.current.task);
    return true;
  }

  pick(enabled: readonly Move[], step: number): Move | undefined {
    return this.branch!.pick(enabled, step);
  }

  stepped(record: Parameters<DporBranch['stepped']>[0]): void {
    this.branch!.stepped(record);
  }

  end(summary: ExecutionSummary): void {
    const b = this.branch!;
    b.end(summary);
    const result: TaskResult = {
      id: this.current!.id,
      task: this.current!.task,
      moves: summary.moves,
      steps: summary.moves.length,
      bug: summary.bug,
      blocked: summary.blocked,
      dpor: b.report as BranchReport,
    };
    this.search.peek(result);
    this.search.accept(result);
  }
}
