import type { Search, Task, TaskResult } from '../explore/search.ts';
import { type Move, moveKey } from '../runtime/step.ts';
import type { Strategy } from './strategy.ts';

/** One bounded-search execution: follow `prefix`, then never preempt. */
export interface BoundedTask {
  readonly kind: 'bounded';
  readonly prefix: readonly string[];
}

/**
 * Follows a prefix, then keeps running the actor that moved last while it can (a
 * preemption is switching away from an actor that could still move). Records every
 * enabled set, for the search to branch on.
 */
export class BoundedBranch implements Strategy {
  readonly name = 'bounded';
  readonly exhausted = false;
  readonly hashesStates = true;
  readonly enabled: (readonly Move[])[] = [];
  private last: string | undefined;

  constructor(private readonly task: BoundedTask) {}

  begin(): boolean {
    return true;
  }

  pick(enabled: readonly Move[], step: number): Move {
    this.enabled.push(enabled);
    const want = this.task.prefix[step];
    const m =
      (want !== undefined ? enabled.find((e) => moveKey(e) === want) : undefined) ??
      enabled.find((e) => e.actor === this.last) ??
      enabled[0];
    this.last = m.actor;
    return m;
  }

  end(): void {}
}

interface Node {
  readonly enabled: readonly Move[];
  /** Preemptions on the path before this node's move. */
  readonly before: number;
  /** The actor that moved last before this node. */
  readonly last: string | undefined;
  readonly explored: Set<string>;
  /** The same state was reached before with at least this much of the bound left: its subtree is covered. */
  readonly cached: boolean;
  taken: string;
  inflight?: { readonly key: string; readonly id: number };
}

/**
 * Preemption-bounded exhaustive search (Musuvathi and Qadeer, PLDI 2007, "iterative
 * context bounding"): depth-first over every schedule with at most `bound` preemptions,
 * by iterative deepening from 0, so the first bug found has the fewest preemptions. No
 * partial-order reduction: pruning sleep sets or DPOR's backtracking by a bound is
 * unsound (Coons, Musuvathi and McKinley, OOPSLA 2013), while plain DFS under a bound is
 * polynomial in the length of the run. When a level cuts no branch, the whole space has
 * been explored and the search is exhausted; otherwise it is complete up to the bound.
 */
export class PreemptionBoundedSearch implements Search {
  readonly name = 'dpor';
  exhausted = false;
  /** The bound of the level being explored. */
  level = 0;
  /** A branch of the current level was skipped for exceeding its bound. */
  private cut = false;
  /** States seen at this level: the fewest preemptions they were reached with, and after which actor. */
  private seen = new Map<number, { before: number; last: string | undefined }[]>();
  /** Distinct states seen over all levels. */
  readonly states = new Set<number>();
  private nodes: Node[] = [];
  private nextId = 0;
  private first: 'new' | 'inflight' | 'judged' = 'new';

  constructor(readonly bound: number) {}

  next(): { id: number; task: Task } | undefined {
    if (this.first === 'new') {
      this.first = 'inflight';
      return { id: this.nextId++, task: { kind: 'bounded', prefix: [] } };
    }
    for (let d = this.nodes.length - 1; d >= 0; d--) {
      const node = this.nodes[d];
      if (node.inflight) continue;
      const key = this.pending(node);
      if (!key) continue;
      const id = this.nextId++;
      node.inflight = { key, id };
      return { id, task: { kind: 'bounded', prefix: [...this.nodes.slice(0, d).map((n) => n.taken), key] } };
    }
    return undefined;
  }

  awaiting(): number | undefined {
    if (this.first !== 'judged') return this.first === 'new' ? this.nextId : this.nextId - 1;
    for (let d = this.nodes.length - 1; d >= 0; d--) {
      const node = this.nodes[d];
      if (node.inflight) return node.inflight.id;
      if (this.pending(node)) return this.nextId;
    }
    // Level done: deepen if the bound cut something, else the space is covered.
    if (this.cut && this.level < this.bound) {
      this.level++;
      this.cut = false;
      this.nodes = [];
      this.seen = new Map();
      this.first = 'new';
      return this.nextId;
    }
    this.exhausted = !this.cut;
    return undefined;
  }

  accept(result: TaskResult): void {
    const task = result.task;
    if (task.kind !== 'bounded')
      throw new Error('PreemptionBoundedSearch was given a result of another kind');
    const enabled = result.enabled ?? [];
    const moves = result.moves;
    let start = 0;
    if (this.first === 'inflight') this.first = 'judged';
    else {
      start = task.prefix.length - 1;
      const node = this.nodes[start];
      node.inflight = undefined;
      node.taken = moves[start];
      node.explored.add(moves[start]);
      this.nodes.length = start + 1;
      start++;
    }
    const states = result.states ?? [];
    for (let k = start; k < moves.length; k++) {
      const prev = this.nodes[k - 1];
      const last = k > 0 ? actorOf(prev.enabled, prev.taken) : undefined;
      const before = k > 0 ? prev.before + this.cost(prev, prev.taken) : 0;
      // The state at node k is the state after step k - 1.
      const cached = k > 0 && (prev.cached || this.visit(states[k - 1], before, last));
      this.nodes[k] = {
        enabled: enabled[k],
        before,
        last,
        cached,
        explored: new Set([moves[k]]),
        taken: moves[k],
      };
    }
    for (const h of states) this.states.add(h);
  }

  /**
   * Records a state; true when it was reached before, after the same actor, with no more
   * preemptions: depth-first search has explored everything below it then, with at least
   * the budget it has now, so pruning it is sound.
   */
  private visit(state: number | undefined, before: number, last: string | undefined): boolean {
    if (state === undefined) return false;
    const list = this.seen.get(state) ?? [];
    if (list.some((s) => s.last === last && s.before <= before)) return true;
    list.push({ before, last });
    this.seen.set(state, list);
    return false;
  }

  /** Preemptions a move adds at a node. */
  private cost(node: Node, key: string): number {
    const actor = actorOf(node.enabled, key);
    return node.last !== undefined && actor !== node.last && node.enabled.some((m) => m.actor === node.last)
      ? 1
      : 0;
  }

  private pending(node: Node): string | undefined {
    if (node.cached) return undefined;
    for (const m of node.enabled) {
      const key = moveKey(m);
      if (node.explored.has(key)) continue;
      if (node.before + this.cost(node, key) > this.level) {
        this.cut = true;
        continue;
      }
      return key;
    }
    return undefined;
  }
}

function actorOf(enabled: readonly Move[], key: string): string {
  return enabled.find((m) => moveKey(m) === key)?.actor ?? key.split(/[<#]/)[0];
}
