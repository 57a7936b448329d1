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
 * The graph is per execution, unlike lockdep's, which lives as long as the kernel: each
 * verdict is a function of one execution, so it does not depend on the worker count or on
 * the order executions are explored in. Exhaustive search (DPOR) runs an execution in
 * which both paths of an inversion run to completion whenever one exists.
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
}

export interface LockOrderCheckpoint {
  readonly edges: readonly LockEdge[];
  readonly length: number;
}

const excludes = (a: LockMode, b: LockMode) => a === 'exclusive' || b === 'exclusive';

export class LockOrder {
  /** Append-only, so that a checkpoint is a length. */
  private edges: LockEdge[] = [];
  private readonly byFrom = new Map<string, LockEdge[]>();

  constructor(from?: LockOrderCheckpoint) {
    if (from) for (const e of from.edges.slice(0, from.length)) this.insert(e);
  }

  checkpoint(): LockOrderCheckpoint {
    return { edges: this.edges, length: this.edges.length };
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
    if (held.length === 0) return undefined;
    const to: Hold = { lock, mode, step };
    for (const from of held) {
      if (from.lock === lock) continue;
      const known = this.byFrom.get(from.lock);
      if (
        known?.some(
          (e) => e.actor === actor && e.to.lock === lock && e.to.mode === mode && e.from.mode === from.mode,
        )
      )
        continue;
      const edge: LockEdge = { actor, from, to, held };
      this.insert(edge);
      const cycle = this.cycleThrough(edge);
      if (cycle) return inversion(cycle);
    }
    return undefined;
  }

  private insert(e: LockEdge): void {
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

function inversion(cycle: readonly LockEdge[]): Bug {
  const path = (e: LockEdge) =>
    `${e.actor} took ${e.from.lock} (${e.from.mode}, step ${e.from.step}) then ${e.to.lock} (${e.to.mode}, step ${e.to.step})`;
  const last = cycle[cycle.length - 1];
  return {
    kind: 'lock-order',
    message: `lock-order inversion: ${cycle.map(path).join('; ')}`,
    step: last.to.step,
    actor: last.actor,
    steps: cycle.flatMap((e) => [e.from.step, e.to.step]),
    key: cycle
      .map((e) => `${e.actor}:${e.from.lock}(${e.from.mode})>${e.to.lock}(${e.to.mode})`)
      .sort()
      .join(','),
  };
}
