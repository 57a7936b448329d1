import type { Search, TaskResult } from '../explore/search.ts';
import { dependent, type Footprint, type Move, moveKey } from '../runtime/step.ts';
import { type BranchReport, DporBranch, type DporBranchTask, type Sleeper } from './dpor-branch.ts';
import type { RaceFix } from './dpor-races.ts';
import type { ExecutionSummary, Strategy } from './strategy.ts';

export type { Sleeper } from './dpor-branch.ts';

/**
 * Where a DPOR search starts: a fixed schedule prefix and its sleep set. A shard's part
 * starts after its prefix; a subtree given away by another search (`donate`) starts with
 * a backtrack move being tried, whose races with the steps before it are analysed too.
 */
export interface DporRoot {
  readonly moves: readonly string[];
  /** The sleep set after the prefix, or, when `tried`, at the node before its last move. */
  readonly sleep: readonly Sleeper[];
  /** The prefix's last move is a backtrack move being tried at its node. */
  readonly tried?: boolean;
  /** Where the whole search's tree starts (a shard's root): no race before it is reversed. Default: the prefix's length. */
  readonly base?: number;
}

export interface DporTask extends DporBranchTask {
  readonly kind: 'dpor';
  /** The node whose backtrack move the task tries (-1: the first execution). */
  readonly depth: number;
}

/** What the search that gave a subtree away needs to know of each of its executions. */
export interface SubtreeExecution {
  readonly blocked: boolean;
  /** Races to reverse before the subtree's root, in the order found. */
  readonly races: readonly RaceFix[];
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
  /** The races of the execution judged last that must be reversed before this search's tree. */
  external: RaceFix[] = [];
  /** The footprint of a tried root's backtrack move, once its first execution is judged. */
  rootFootprint: Footprint | undefined;
  private readonly nodes: Node[] = [];
  private nextId = 0;
  /** The first execution, until judged. */
  private first: 'new' | 'handed' | 'judged' = 'new';
  /** The first node of this search's own tree. */
  private readonly start: number;
  private readonly base: number;

  constructor(readonly root: DporRoot = { moves: [], sleep: [] }) {
    this.start = root.moves.length;
    this.base = root.base ?? this.start;
  }

  /** Executions handed out so far. */
  get handedOut(): number {
    return this.nextId;
  }

  next(): { id: number; task: DporTask } | undefined {
    const tried = this.root.tried === true;
    if (this.first === 'new') {
      this.first = 'handed';
      const task: DporTask = {
        kind: 'dpor',
        prefix: this.root.moves,
        sleep: this.root.sleep,
        filterLast: tried,
        rootDepth: this.base,
        from: tried ? this.start - 1 : this.start,
        depth: -1,
      };
      return { id: this.nextId++, task };
    }
    for (let d = this.nodes.length - 1; d >= this.start; d--) {
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
        prefix: this.path(d, key),
        sleep: [...node.sleep, ...node.done, ...before],
        filterLast: true,
        rootDepth: this.base,
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
    const d = this.frontier();
    if (d >= 0) return this.nodes[d].handed[0]?.id ?? this.nextId;
    this.exhausted = true;
    return undefined;
  }

  /**
   * Gives away a subtree for another search to explore (work sharing between threads):
   * the first backtrack move still to explore at the shallowest node above the one this
   * search works on next. That subtree's executions depend only on the returned root, so
   * they can run anywhere; its results come back through `acceptSubtree`, in this
   * search's depth-first order, so everything is decided as if this search had run them.
   */
  donate(): { id: number; root: DporRoot } | undefined {
    if (this.first !== 'judged') return undefined;
    const busy = this.frontier();
    for (let d = this.start; d < busy; d++) {
      const node = this.nodes[d];
      // A later sibling's sleep set needs the footprints of the moves before it.
      if (node.handed.length) continue;
      const key = this.pending(node);
      if (!key) continue;
      const id = this.nextId++;
      node.handed.push({ key, id });
      const root = {
        moves: this.path(d, key),
        sleep: [...node.sleep, ...node.done],
        tried: true,
        base: this.base,
      };
      return { id, root };
    }
    return undefined;
  }

  /**
   * Judges, in one go, the executions of a subtree given away by `donate`: each one's
   * races before the subtree, in the order they ran. Returns, for each, the races that
   * must be reversed before this search's own tree.
   */
  acceptSubtree(id: number, footprint: Footprint, executions: readonly SubtreeExecution[]): RaceFix[][] {
    const d = this.frontier();
    const node = this.nodes[d];
    const h = node?.handed.shift();
    if (h?.id !== id) throw new Error(`DporSearch judged subtree ${id} out of order`);
    this.nodes.length = d + 1;
    node.taken = h.key;
    node.done.push({ key: h.key, footprint });
    return executions.map((e) => {
      if (e.blocked) this.blocked++;
      else this.complete++;
      this.external = [];
      for (const fix of e.races) this.reverse(fix);
      return this.external;
    });
  }

  /** The deepest node with a move to explore or a result to wait for; -1 if none. */
  private frontier(): number {
    for (let d = this.nodes.length - 1; d >= this.start; d--) {
      const node = this.nodes[d];
      if (node.handed.length || this.pending(node)) return d;
    }
    return -1;
  }

  /** The schedule to node d, then `key`. */
  private path(d: number, key: string): string[] {
    return [...this.root.moves, ...this.nodes.slice(this.start, d).map((n) => n.taken), key];
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
      start = this.start;
      sleep = this.root.sleep;
      if (this.root.tried) {
        this.rootFootprint = fps[0];
        sleep = sleep.filter((s) => !dependent(s.footprint, fps[0]));
      }
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
    this.external = [];
    for (const fix of report.races) this.reverse(fix);
  }

  /** Source-DPOR's backtrack update for one race: unless a candidate is already there, add one (an awake one if any). */
  private reverse(fix: RaceFix): void {
    if (fix.node < this.start) {
      this.external.push(fix);
      return;
    }
    const node = this.nodes[fix.node];
    if (fix.candidates.some((a) => node.backtrack.includes(a))) return;
    const awake = fix.candidates.find((a) =>
      node.enabled.some((m) => m.actor === a && !node.sleep.some((s) => s.key === moveKey(m))),
    );
    node.backtrack.push(awake ?? fix.candidates[0]);
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
