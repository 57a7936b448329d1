import { type LockEdge, newOrders } from '../checkers/lock-order.ts';
import type { Bug, Footprint } from '../runtime/step.ts';
import type { ScenarioInstance } from '../scenario/instance.ts';
import { type DporRoot, DporSearch } from '../strategies/dpor.ts';
import type { RaceFix } from '../strategies/dpor-races.ts';
import { runTask } from './run-task.ts';
import type { TaskResult } from './search.ts';

/** A subtree of the exhaustive search, explored depth-first by one thread (plain data). */
export interface SubtreeTask {
  /** `L<lane>` for a lane's whole tree; a subtree given away adds `.<n>` to its giver's id. */
  readonly id: string;
  readonly root: DporRoot;
  /** Stop after this many executions: nothing past the phase's cap can count. */
  readonly cap: number;
}

/** One execution of a subtree, as the search that judges it needs it. */
export interface SubtreeEntry {
  readonly steps: number;
  readonly blocked: boolean;
  readonly bug?: Bug;
  /**
   * The lock orders no earlier execution of the subtree recorded (the graph across
   * executions needs each order once, from the first execution in depth-first order).
   */
  readonly lockEdges?: readonly LockEdge[];
  /** The transitions no earlier execution of the subtree took (coverage). */
  readonly covered?: readonly string[];
  /** The schedule, for a bug or new lock orders only. */
  readonly moves?: readonly string[];
  /** The global states its new steps reached. */
  readonly states: readonly number[];
  /** Races to reverse above the subtree's root. */
  readonly races: readonly RaceFix[];
}

/** A subtree's executions, in depth-first order. */
export interface SubtreeLog {
  readonly id: string;
  /** The footprint of the root's backtrack move (a subtree given away). */
  readonly footprint?: Footprint;
  readonly entries: readonly SubtreeEntry[];
  /** Why it ended early: a bug (the last entry) or the cap. */
  readonly stopped?: 'bug' | 'cap';
}

/**
 * One thread's share of the exhaustive search: a DPOR search over one subtree, run an
 * execution at a time. It can give parts of its subtree away (`donate`) and takes their
 * logs back in its own depth-first order, so its log is the one a single thread running
 * the whole subtree would have written (src/explore/work-sharing.ts moves the parts).
 */
export class SubtreeWork {
  readonly search: DporSearch;
  readonly entries: SubtreeEntry[] = [];
  stopped: 'bug' | 'cap' | 'cancelled' | undefined;
  /** The search's ids of the subtrees given away → their task ids. */
  private readonly given = new Map<number, string>();
  private donated = 0;
  /** Keys of the lock orders its entries carry. */
  private readonly orders = new Set<string>();
  /** The transitions its entries carry. */
  private readonly covered = new Set<string>();

  constructor(
    private readonly instance: ScenarioInstance,
    readonly task: SubtreeTask,
    /** Sees every execution this work runs itself. */
    private readonly onExecution?: (r: TaskResult) => void,
  ) {
    this.search = new DporSearch(task.root);
  }

  /**
   * Runs the next execution in depth-first order, or takes in the log of a subtree given
   * away if that comes next. 'waiting': that log has not arrived.
   */
  advance(logs: Map<string, SubtreeLog>): 'ran' | 'merged' | 'waiting' | 'done' {
    if (this.stopped) return 'done';
    const want = this.search.awaiting();
    if (want === undefined) return 'done';
    const child = this.given.get(want);
    if (child !== undefined) {
      const log = logs.get(child);
      if (!log) return 'waiting';
      logs.delete(child);
      this.given.delete(want);
      const above = this.search.acceptSubtree(want, log.footprint!, log.entries);
      log.entries.forEach((e, k) => {
        this.push({ ...e, races: above[k] });
      });
      return 'merged';
    }
    const t = this.search.next();
    if (t?.id !== want) throw new Error(`subtree ${this.task.id}: execution ${want} is not the next to run`);
    const r = runTask(this.instance, t.id, t.task);
    this.onExecution?.(r);
    this.search.peek(r);
    this.search.accept(r);
    this.push({
      steps: r.steps,
      blocked: r.blocked,
      states: r.dpor?.states ?? [],
      races: this.search.external,
      ...(r.bug ? { bug: r.bug } : {}),
      ...(r.bug || r.lockEdges ? { moves: r.moves } : {}),
      ...(r.lockEdges ? { lockEdges: r.lockEdges } : {}),
      ...(r.covered ? { covered: r.covered } : {}),
    });
    return 'ran';
  }

  /** Gives away a subtree for another thread, or undefined if there is none to give. */
  donate(): SubtreeTask | undefined {
    if (this.stopped) return undefined;
    const d = this.search.donate();
    if (!d) return undefined;
    const id = `${this.task.id}.${++this.donated}`;
    this.given.set(d.id, id);
    return { id, root: d.root, cap: this.task.cap };
  }

  get log(): SubtreeLog {
    const stopped = this.stopped === 'cancelled' ? undefined : this.stopped;
    return {
      id: this.task.id,
      ...(this.search.rootFootprint ? { footprint: this.search.rootFootprint } : {}),
      entries: this.entries,
      ...(stopped ? { stopped } : {}),
    };
  }

  private push(entry: SubtreeEntry): void {
    if (this.stopped) return;
    let e = entry;
    if (e.lockEdges) {
      // Own executions and merged subtrees alike: keep each order at its first execution.
      const { lockEdges, moves, ...rest } = e;
      const fresh = newOrders(lockEdges, this.orders);
      e = {
        ...rest,
        ...(fresh.length > 0 ? { lockEdges: fresh } : {}),
        ...(fresh.length > 0 || e.bug ? { moves } : {}),
      };
    }
    if (e.covered) {
      const { covered, ...rest } = e;
      const fresh = covered.filter((t) => !this.covered.has(t));
      for (const t of fresh) this.covered.add(t);
      e = { ...rest, ...(fresh.length > 0 ? { covered: fresh } : {}) };
    }
    this.entries.push(e);
    // Nothing after a bug, or past the cap, can count.
    if (e.bug) this.stopped = 'bug';
    else if (this.entries.length >= this.task.cap) this.stopped = 'cap';
  }
}
