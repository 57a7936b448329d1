import { HappensBefore } from '../explore/happens-before.ts';
import type { Search, TaskResult } from '../explore/search.ts';
import { dependent, type Footprint, type Move, moveKey } from '../runtime/step.ts';
import { DporBranch, type Sleeper } from './dpor-branch.ts';
import type { ExecutionSummary, Strategy } from './strategy.ts';

export type { Sleeper } from './dpor-branch.ts';

/** Where a DPOR search starts: a fixed schedule prefix and the sleep set after it (a shard's task). */
export interface DporRoot {
  readonly moves: readonly string[];
  readonly sleep: readonly Sleeper[];
}

interface Node {
  readonly enabled: readonly Move[];
  /** The sleep set on arrival: moves whose interleavings an earlier branch covers. */
  readonly sleep: readonly Sleeper[];
  /** Actors to explore from here, in the order they were added. */
  readonly backtrack: string[];
  /** For a backtrack move added by a race: the rest of the reversed race to follow after it. */
  readonly hints: Map<string, readonly string[]>;
  /** Moves explored from here, in order, with the footprints they had. */
  readonly done: Sleeper[];
  /** The move the current path takes here. */
  taken: string;
  /** A backtrack move already handed out as a task, not yet judged. */
  inflight?: { readonly key: string; readonly id: number };
}

/**
 * Exhaustive depth-first search with source-set dynamic partial-order reduction and
 * sleep sets (Abdulla, Aronis, Jonsson and Sagonas, "Source Sets", JACM 2017, Algorithm 1),
 * stateless: every execution re-runs from the start. After each execution, each race
 * (i, j) (dependent steps of different actors, nothing in between ordering them) asks
 * that, at the node before step i, some actor that can start the reversed order is
 * explored. Sleep sets (Godefroid 1996) keep two equivalent complete executions from both
 * being run; an execution whose every enabled move sleeps is abandoned (`blocked`).
 *
 * Actors are DPOR's processes. An actor with several moves at a node (the options of a
 * `choose`, or messages from several senders) has all of them explored when it is.
 *
 * The search judges executions strictly in depth-first order, but an execution depends
 * only on its path and on the moves explored before it at its node, so the next backtrack
 * move of every node on the path can already run elsewhere (`next` hands them out
 * deepest first). Results are the same for any number of workers.
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
  private first: 'new' | 'inflight' | 'judged' = 'new';

  constructor(private readonly root: DporRoot = { moves: [], sleep: [] }) {}

  /** Executions handed out so far. */
  get handedOut(): number {
    return this.nextId;
  }

  next(): { id: number; task: DporBranchTaskWithIndex } | undefined {
    if (this.first === 'new') {
      this.first = 'inflight';
      return this.hand({
        prefix: this.root.moves,
        hint: [],
        sleep: this.root.sleep,
        filterLast: false,
        depth: -1,
      });
    }
    for (let d = this.nodes.length - 1; d >= this.root.moves.length; d--) {
      const node = this.nodes[d];
      if (node.inflight) continue;
      const key = this.pending(node);
      if (!key) continue;
      const id = this.nextId;
      node.inflight = { key, id };
      const prefix = [...this.nodes.slice(0, d).map((n) => n.taken), key];
      const hint = node.hints.get(key) ?? [];
      return this.hand({ prefix, hint, sleep: [...node.sleep, ...node.done], filterLast: true, depth: d });
    }
    return undefined;
  }

  /** The execution the search must judge next; undefined once everything is explored. */
  awaiting(): number | undefined {
    if (this.first !== 'judged') return 0;
    for (let d = this.nodes.length - 1; d >= this.root.moves.length; d--) {
      const node = this.nodes[d];
      if (node.inflight) return node.inflight.id;
      if (this.pending(node)) return this.nextId;
    }
    this.exhausted = true;
    return undefined;
  }

  accept(result: TaskResult): void {
    const { task } = result;
    if (task.kind !== 'dpor') throw new Error('DporSearch was given a result of another kind');
    const moves = result.moves;
    const fps = result.footprints ?? [];
    const fresh = result.fresh ?? [];
    let start: number;
    if (task.depth < 0) {
      this.first = 'judged';
      start = this.root.moves.length;
    } else {
      const d = task.depth;
      const node = this.nodes[d];
      node.inflight = undefined;
      this.nodes.length = d + 1;
      node.taken = moves[d];
      node.done.push({ key: moves[d], footprint: fps[d] });
      start = d + 1;
    }
    for (let k = start; k < start + fresh.length; k++) {
      const f = fresh[k - start];
      const actor = f.enabled.find((m) => moveKey(m) === moves[k])!.actor;
      this.nodes[k] = {
        enabled: f.enabled,
        sleep: f.sleep,
        backtrack: [actor],
        hints: new Map(),
        done: [{ key: moves[k], footprint: fps[k] }],
        taken: moves[k],
      };
    }
    if (result.blocked) this.blocked++;
    else this.complete++;
    this.addBacktracks(moves, fps, result.waiting ?? []);
  }

  /**
   * Race analysis of an execution. Acquisitions still waiting at the end count as steps
   * after the last: reversing them with the holder's acquisition is how the other lock
   * order (and the run without the deadlock) gets explored.
   */
  private addBacktracks(
    moves: readonly string[],
    footprints: readonly Footprint[],
    waiting: readonly Footprint[],
  ): void {
    const n = footprints.length;
    const all = [...footprints, ...waiting];
    const hb = new HappensBefore(all);
    for (const race of hb.races()) {
      const j = race[1];
      const i = this.lockRace(all, race[0], j);
      if (i === undefined || i < this.root.moves.length || i >= n) continue;
      if (j < n && delivers(moves, footprints, i, j)) continue;
      const node = this.nodes[i];
      const v = this.reversal(hb, i, j, n);
      const candidates = this.initials(hb, v).filter((x) =>
        node.enabled.some((m) => m.actor === hb.actors[hb.actorOf[x]]),
      );
      const actor = (x: number) => hb.actors[hb.actorOf[x]];
      // Not reversible (step i enabled step j), or already scheduled: nothing to add.
      if (candidates.length === 0 || candidates.some((x) => node.backtrack.includes(actor(x)))) continue;
      const pick =
        candidates.find((x) =>
          node.enabled.some((m) => m.actor === actor(x) && !node.sleep.some((s) => s.key === moveKey(m))),
        ) ?? candidates[0];
      node.backtrack.push(actor(pick));
      // Follow the reversed race after the new move (its rest, as a wakeup sequence does
      // in optimal DPOR), so the branch reaches the reversal instead of falling asleep.
      const key = pick < n ? moves[pick] : undefined;
      if (key && node.enabled.some((m) => moveKey(m) === key) && !node.hints.has(key)) {
        node.hints.set(
          key,
          v.filter((x) => x !== pick && x < n).map((x) => moves[x]),
        );
      }
    }
  }

  /**
   * A blocking acquisition can only follow the release it waited for, so that race is
   * never reversed as such: the one to reverse is with the acquisition the release ends
   * (as Nidhugg does for mutexes). Other races are returned unchanged.
   */
  private lockRace(fps: readonly Footprint[], i: number, j: number): number | undefined {
    const a = fps[i].object;
    const b = fps[j].object;
    if (a?.type !== 'lock' || b?.type !== 'lock' || !a.access.startsWith('release')) return i;
    if (b.access !== 'shared' && b.access !== 'exclusive') return i;
    for (let k = i - 1; k >= 0; k--) {
      const o = fps[k].object;
      if (fps[k].actor !== fps[i].actor || o?.type !== 'lock' || o.name !== a.name) continue;
      if (o.access.startsWith('release')) return undefined;
      return dependent(fps[k], fps[j]) ? k : undefined;
    }
    return undefined;
  }

  /** v = the steps after i that do not follow i, then j. */
  private reversal(hb: HappensBefore, i: number, j: number, n: number): number[] {
    const v: number[] = [];
    for (let k = i + 1; k < Math.min(j, n); k++) if (!hb.before(i, k)) v.push(k);
    v.push(j);
    return v;
  }

  /**
   * I(v): for each actor whose first step in v follows no other step of v, that step, in
   * the order they appear.
   */
  private initials(hb: HappensBefore, v: readonly number[]): number[] {
    const seen = new Set<number>();
    const out: number[] = [];
    for (let x = 0; x < v.length; x++) {
      const k = v[x];
      const a = hb.actorOf[k];
      if (seen.has(a)) continue;
      seen.add(a);
      let first = true;
      for (let y = 0; y < x && first; y++) if (hb.before(v[y], k)) first = false;
      if (first) out.push(k);
    }
    return out;
  }

  /** The next move to explore at a node: an unexplored, awake move of an actor in its backtrack set. */
  private pending(node: Node): string | undefined {
    for (const actor of node.backtrack) {
      for (const m of node.enabled) {
        if (m.actor !== actor) continue;
        const key = moveKey(m);
        if (!node.done.some((d) => d.key === key) && !node.sleep.some((s) => s.key === key)) return key;
      }
    }
    return undefined;
  }

  private hand(task: Omit<DporBranchTaskWithIndex, 'kind'>) {
    const id = this.nextId++;
    return { id, task: { kind: 'dpor' as const, ...task } };
  }
}

export interface DporBranchTaskWithIndex {
  readonly kind: 'dpor';
  readonly prefix: readonly string[];
  readonly sleep: readonly Sleeper[];
  readonly filterLast: boolean;
  /** Moves to follow after the prefix, where enabled and awake. */
  readonly hint: readonly string[];
  /** The node whose backtrack move the task tries (-1: the first execution). */
  readonly depth: number;
}

/**
 * DPOR as a plain Strategy, for running it in process one execution at a time:
 * `while (s.begin(i)) runExecution(instance, s, i++)`.
 */
export class DporStrategy implements Strategy {
  readonly name = 'dpor';
  readonly tracksReads = true;
  readonly search: DporSearch;
  private branch: DporBranch | undefined;
  private current: { id: number; task: DporBranchTaskWithIndex } | undefined;

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
    if (this.search.awaiting() === undefined && this.current !== undefined) return false;
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
    this.search.accept({
      id: this.current!.id,
      task: this.current!.task,
      moves: summary.moves,
      steps: summary.moves.length,
      bug: summary.bug,
      blocked: summary.blocked,
      footprints: b.footprints,
      fresh: b.fresh,
      waiting: summary.waiting,
    });
  }
}

/** Does step j deliver the very message step i sent? Then j cannot come first: no race to reverse. */
function delivers(moves: readonly string[], fps: readonly Footprint[], i: number, j: number): boolean {
  const a = fps[i].object;
  const b = fps[j].object;
  if (a?.type !== 'mailbox' || a.op !== 'send' || b?.type !== 'mailbox' || b.op !== 'deliver') return false;
  const sender = fps[i].actor;
  const channel = `${a.owner}<${sender}`;
  if (moves[j] !== channel) return false;
  let sent = 0;
  for (let k = 0; k < i; k++) {
    const o = fps[k].object;
    if (fps[k].actor === sender && o?.type === 'mailbox' && o.op === 'send' && o.owner === a.owner) sent++;
  }
  let delivered = 0;
  for (let k = 0; k < j; k++) if (moves[k] === channel) delivered++;
  return delivered === sent;
}
