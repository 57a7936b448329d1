/**
 * Lock-order inversions, as Linux lockdep finds them (Documentation/locking/lockdep-design.rst):
 * when an actor takes lock B with a blocking acquire while it holds A, the order A→B is
 * recorded with its acquisition path (the actor, the steps that took A and B, the modes).
 * A new order that closes a cycle is reported even though nothing deadlocked: another
 * interleaving of the same steps could block every actor of the cycle.
 *
 * Only cycles whose waits could really block in this model are reported (src/runtime/locks.ts):
 * each lock of the cycle must be wanted and held in modes that exclude each other (two
 * `shared` holds of an rwlock never block), every order in it must come from a different
 * actor (actors are single instances: one actor cannot wait for itself across two paths),
 * and no two of its paths may hold a common lock in exclusive modes (a gate lock
 * serialises them). A successful tryAcquire cannot wait, so it adds no order into the lock
 * it took, but the lock counts as held for the orders taken after it.
 *
 * The graph also spans executions, as lockdep's lives as long as the kernel: exploration
 * (src/explore/explore.ts) feeds every execution's orders, in the order executions are
 * judged, to one graph, so an inversion is reported even when its two paths never run in
 * the same execution (one actor chooses between them, say). Judged order does not depend
 * on the number of workers, so neither does the verdict. An order another execution
 * recorded carries `origin`, the witness it came from: the report names it, and the
 * counterexample replays that witness first to record it again (DESIGN §2, "Counterexamples").
 */
import type { LockMode } from '../model/operation.ts';
import type { Hold } from '../runtime/locks.ts';
import type { Bug } from '../runtime/step.ts';

/** One recorded order: `actor` took `from`, then `to` while still holding every lock of `held`. */
export interface LockEdge {
  readonly actor: string;
  readonly from: Hold;
  readonly to: Hold;
  readonly held: readonly Hold[];
  /** Recorded by another execution: the witness (1-based) that records it again. */
  readonly origin?: number;
}

export interface LockOrderCheckpoint {
  readonly edges: readonly LockEdge[];
  readonly length: number;
}

const excludes = (a: LockMode, b: LockMode) => a === 'exclusive' || b === 'exclusive';

/** What makes two orders the same, whichever execution and steps recorded them. */
export function edgeKey(e: LockEdge): string {
  const held = e.held
    .map((h) => `${h.lock}(${h.mode})`)
    .sort()
    .join('+');
  return `${e.actor}:${e.from.lock}(${e.from.mode})>${e.to.lock}(${e.to.mode})/${held}`;
}

/** The orders of `edges` whose keys `seen` lacks, each once; adds their keys to `seen`. */
export function newOrders(edges: readonly LockEdge[] | undefined, seen: Set<string>): LockEdge[] {
  const out: LockEdge[] = [];
  for (const e of edges ?? []) {
    const k = edgeKey(e);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(e);
  }
  return out;
}

export class LockOrder {
  /** Append-only, so that a checkpoint is a length. */
  private edges: LockEdge[] = [];
  private readonly byFrom = new Map<string, LockEdge[]>();
  private readonly keys = new Set<string>();

  /**
   * Resumes from a checkpoint, or starts with `prior`: orders other executions recorded,
   * each with its `origin` (a cross-execution inversion's other paths).
   */
  constructor(from?: LockOrderCheckpoint, prior: readonly LockEdge[] = []) {
    if (from) for (const e of from.edges.slice(0, from.length)) this.insert(e);
    else for (const e of prior) this.insert(e);
  }

  checkpoint(): LockOrderCheckpoint {
    return { edges: this.edges, length: this.edges.length };
  }

  /** The orders this execution recorded (not those it started with), each once. */
  recorded(): LockEdge[] {
    return this.edges.filter((e) => e.origin === undefined);
  }

  /**
   * `actor` was granted `lock` by a blocking acquire at `step`, holding `held` (the locks
   * it held before). Returns the inversion a new order closes, if any.
   */
  acquired(
    actor: string,
    lock: string,
    mode: LockMode,
    step: number,
    held: readonly Hold[],
  ): Bug | undefined {
    const to: Hold = { lock, mode, step };
    for (const from of held) {
      if (from.lock === lock) continue;
      const cycle = this.add({ actor, from, to, held });
      if (cycle) return inversion(cycle);
    }
    return undefined;
  }

  has(key: string): boolean {
    return this.keys.has(key);
  }

  /** Records an order unless the same one is known; returns the cycle it closes, if any. */
  add(edge: LockEdge): LockEdge[] | undefined {
    const key = edgeKey(edge);
    if (this.keys.has(key)) return undefined;
    this.insert(edge, key);
    return this.cycleThrough(edge);
  }

  private insert(e: LockEdge, key = edgeKey(e)): void {
    this.keys.add(key);
    this.edges.push(e);
    let list = this.byFrom.get(e.from.lock);
    if (!list) this.byFrom.set(e.from.lock, (list = []));
    list.push(e);
  }

  /** A cycle of orders that starts with `first` and could block, oldest paths first, or undefined. */
  private cycleThrough(first: LockEdge): LockEdge[] | undefined {
    const path: LockEdge[] = [first];
    const actors = new Set([first.actor]);
    const visit = (prev: LockEdge): boolean => {
      for (const e of this.byFrom.get(prev.to.lock) ?? []) {
        if (actors.has(e.actor) || !excludes(prev.to.mode, e.from.mode)) continue;
        if (path.some((p) => p.to.lock === e.to.lock)) continue;
        path.push(e);
        actors.add(e.actor);
        if (e.to.lock === first.from.lock) {
          if (excludes(e.to.mode, first.from.mode) && !gated(path)) return true;
        } else if (visit(e)) return true;
        path.pop();
        actors.delete(e.actor);
      }
      return false;
    };
    if (!visit(first)) return undefined;
    // The new order last: the report reads in the order the paths were taken.
    return [...path.slice(1), first];
  }
}

/** Do two paths of the cycle hold a common lock in modes that exclude each other? */
function gated(cycle: readonly LockEdge[]): boolean {
  for (let i = 0; i < cycle.length; i++) {
    for (let j = i + 1; j < cycle.length; j++) {
      for (const a of cycle[i].held) {
        const b = cycle[j].held.find((h) => h.lock === a.lock);
        if (b && excludes(a.mode, b.mode)) return true;
      }
    }
  }
  return false;
}

/** The report of a cycle whose last order (the one that closed it) this execution recorded. */
export function inversion(cycle: readonly LockEdge[]): Bug {
  const path = (e: LockEdge) =>
    `${e.actor} took ${e.from.lock} (${e.from.mode}, step ${e.from.step}) then ${e.to.lock} (${e.to.mode}, step ${e.to.step})` +
    (e.origin === undefined ? '' : ` in witness ${e.origin}`);
  const last = cycle[cycle.length - 1];
  const here = cycle.filter((e) => e.origin === undefined);
  return {
    kind: 'lock-order',
    message: `lock-order inversion: ${cycle.map(path).join('; ')}`,
    step: last.to.step,
    actor: last.actor,
    steps: here.flatMap((e) => [e.from.step, e.to.step]),
    key: cycle
      .map((e) => `${e.actor}:${e.from.lock}(${e.from.mode})>${e.to.lock}(${e.to.mode})`)
      .sort()
      .join(','),
  };
}
