import type { Bug } from '../runtime/step.ts';
import { edgeKey, inversion, type LockEdge, LockOrder } from './lock-order.ts';

/** An execution whose lock orders complete another's inversion, and the orders it records. */
export interface LockWitness {
  readonly moves: readonly string[];
  /** Keys (edgeKey) of the orders of the cycle it records. */
  readonly orders: readonly string[];
}

export interface InversionAcross {
  readonly bug: Bug;
  /** The other executions the cycle needs, numbered from 1 in the order the report names them. */
  readonly witnesses: readonly LockWitness[];
}

/**
 * The lock-order graph across executions (src/checkers/lock-order.ts), as lockdep keeps
 * one for as long as the kernel runs. Exploration feeds it each execution's orders in
 * judged order, which does not depend on the number of workers; the first order that
 * closes a cycle with orders of earlier executions is reported, from the execution that
 * recorded it, with the earlier executions as witnesses.
 */
export class LockOrderAcross {
  private readonly graph = new LockOrder();
  /** The schedule of the execution that first recorded each order. */
  private readonly source = new Map<LockEdge, readonly string[]>();

  /** Every order recorded so far, once each, with the schedule of the first execution that did. */
  orders(): { readonly edge: LockEdge; readonly moves: readonly string[] }[] {
    return [...this.source].map(([edge, moves]) => ({ edge, moves }));
  }

  /** Adds one execution's orders and schedule; the inversion they close, if any. */
  judge(edges: readonly LockEdge[], moves: readonly string[]): InversionAcross | undefined {
    for (const e of edges) {
      if (this.graph.has(edgeKey(e))) continue;
      this.source.set(e, moves);
      const cycle = this.graph.add(e);
      if (!cycle) continue;
      const others: (readonly string[])[] = [];
      const orders: string[][] = [];
      const named = cycle.map((c): LockEdge => {
        const from = this.source.get(c)!;
        if (from === moves) return c;
        let i = others.indexOf(from);
        if (i < 0) {
          i = others.push(from) - 1;
          orders.push([]);
        }
        orders[i].push(edgeKey(c));
        return { ...c, origin: i + 1 };
      });
      return {
        bug: inversion(named),
        witnesses: others.map((m, i) => ({ moves: m, orders: orders[i] })),
      };
    }
    return undefined;
  }
}
