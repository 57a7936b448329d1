import { edgeKey, type LockEdge } from '../checkers/lock-order.ts';
import type { LockWitness } from '../checkers/lock-order-across.ts';
import type { Bug } from '../runtime/step.ts';
import type { ScenarioInstance } from '../scenario/instance.ts';
import { type ExecutionResult, replayMoves } from './run-execution.ts';
import { sameBug, shrinkWhile } from './shrink.ts';

/** A witness ready for the counterexample: its shrunk schedule, re-run with step records. */
export interface ReadyWitness {
  readonly orders: readonly string[];
  readonly result: ExecutionResult;
}

/**
 * Makes a lock-order inversion across executions readable and replayable (DESIGN §2,
 * "Counterexamples"): orders the bug's own execution, `moves`, records itself are taken
 * from it; each witness is shrunk to the shortest schedule that still records the rest of
 * its orders with no bug, cut after the step that records the last of them, and re-run
 * with step records; a witness is dropped when the
 * bug's execution shows the same inversion without it. Returns the
 * witnesses kept and the orders they record, numbered by witness, which the bug's
 * execution starts its lock-order graph with.
 */
export function readyWitnesses(
  instance: ScenarioInstance,
  moves: readonly string[],
  bug: Bug,
  witnesses: readonly LockWitness[],
): { witnesses: ReadyWitness[]; lockOrders: LockEdge[] } {
  const own = new Set(replayMoves(instance, moves).lockEdges.map(edgeKey));
  const ready = witnesses
    .map((w) => ({ moves: w.moves, orders: w.orders.filter((k) => !own.has(k)) }))
    .filter((w) => w.orders.length > 0)
    .map((w): ReadyWitness => {
      const small = shrinkWhile(instance, w.moves, (r) => !r.bug && records(r, w.orders));
      // A witness needs only the steps up to its last order of the cycle.
      const full = replayMoves(instance, small.moves);
      const last = Math.max(
        ...full.lockEdges.filter((e) => w.orders.includes(edgeKey(e))).map((e) => e.to.step),
      );
      return {
        orders: w.orders,
        result: replayMoves(instance, small.moves.slice(0, last), { partial: true }),
      };
    });
  let kept = ready;
  for (const w of ready) {
    const without = kept.filter((k) => k !== w);
    if (sameBug(bug, replayMoves(instance, moves, { lockOrders: witnessOrders(without) }).bug))
      kept = without;
  }
  return { witnesses: kept, lockOrders: witnessOrders(kept) };
}

/** The orders of the cycle the witnesses record, each marked with its witness (from 1). */
export function witnessOrders(witnesses: readonly Pick<ReadyWitness, 'orders' | 'result'>[]): LockEdge[] {
  return witnesses.flatMap((w, i) =>
    w.result.lockEdges.filter((e) => w.orders.includes(edgeKey(e))).map((e) => ({ ...e, origin: i + 1 })),
  );
}

/** Does the execution record every one of `orders`? */
export function records(r: Pick<ExecutionResult, 'lockEdges'>, orders: readonly string[]): boolean {
  return orders.every((k) => r.lockEdges.some((e) => edgeKey(e) === k));
}
