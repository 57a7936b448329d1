import type { LockEdge } from '../checkers/lock-order.ts';
import type { Bug, Move } from '../runtime/step.ts';
import { moveKey } from '../runtime/step.ts';
import type { ScenarioInstance } from '../scenario/instance.ts';
import type { Strategy } from '../strategies/strategy.ts';
import { type ExecutionResult, runExecution } from './run-execution.ts';

/** A schedule and what it costs to read: its length and its preemptions. */
export interface Shrunk {
  readonly moves: readonly string[];
  readonly steps: number;
  readonly preemptions: number;
  /** The schedule as found. */
  readonly before: { readonly steps: number; readonly preemptions: number };
  /** Executions spent shrinking. */
  readonly tries: number;
}

export interface ShrinkOptions {
  /** Stop after this many candidate executions. */
  readonly maxTries?: number;
  /** Lock orders other executions recorded (a cross-execution inversion's witnesses). */
  readonly lockOrders?: readonly LockEdge[];
}

/**
 * Follows a candidate schedule leniently: a move that is not enabled is skipped, and once
 * the list runs out the current actor keeps running while it can. Counts preemptions:
 * switching away from an actor that could still move.
 */
class GuidedStrategy implements Strategy {
  readonly name = 'shrink';
  readonly exhausted = false;
  preemptions = 0;
  /** Some step had more than one move enabled: another schedule exists. */
  hadChoice = false;
  private at = 0;
  private last: string | undefined;

  constructor(private readonly moves: readonly string[]) {}

  begin(): boolean {
    return true;
  }

  pick(enabled: readonly Move[]): Move {
    if (enabled.length > 1) this.hadChoice = true;
    let m: Move | undefined;
    while (!m && this.at < this.moves.length) {
      const want = this.moves[this.at++];
      m = enabled.find((e) => moveKey(e) === want);
    }
    m ??= enabled.find((e) => e.actor === this.last) ?? enabled[0];
    if (this.last !== undefined && m.actor !== this.last && enabled.some((e) => e.actor === this.last))
      this.preemptions++;
    this.last = m.actor;
    return m;
  }

  end(): void {}
}

/**
 * Two bugs are the same when their kind and invariant agree; or their key, which the race,
 * lock-order, deadlock-cycle and hot-streak checkers give without step numbers and in an
 * order of their own (the racing accesses' actors, kinds, ranges and tags; the cycle's
 * actors and locks); or else their message, digits aside.
 */
export function sameBug(a: Bug, b: Bug | undefined): boolean {
  if (!b || a.kind !== b.kind) return false;
  if (a.invariant || b.invariant) return a.invariant === b.invariant;
  if (a.key !== undefined || b.key !== undefined) return a.key === b.key;
  const shape = (m: string) => m.replace(/\d+/g, '#');
  return shape(a.message) === shape(b.message);
}

/**
 * Shrinks a bug's schedule (DESIGN §2, "Counterexamples"): fewer steps first, then fewer
 * preemptions, keeping every change under which the same bug still happens. Passes:
 * pull an interrupted actor's next run of steps up to where it was preempted; drop
 * chunks of moves, halving the chunk size (as ddmin does). Each candidate is one
 * execution; the result is the best schedule seen when the passes stop improving.
 */
export function shrink(
  instance: ScenarioInstance,
  moves: readonly string[],
  bug: Bug,
  options: ShrinkOptions = {},
): Shrunk {
  return shrinkWhile(instance, moves, (r) => sameBug(bug, r.bug), options);
}

/** Shrinks a schedule the same way, keeping every change under which `keeps` holds of the execution. */
export function shrinkWhile(
  instance: ScenarioInstance,
  moves: readonly string[],
  keeps: (r: ExecutionResult) => boolean,
  options: ShrinkOptions = {},
): Shrunk {
  const maxTries = options.maxTries ?? 400;
  let tries = 0;
  let forced = false;
  const attempt = (candidate: readonly string[]) => {
    tries++;
    const s = new GuidedStrategy(candidate);
    const r = runExecution(instance, s, 0, { lockOrders: options.lockOrders });
    forced = !s.hadChoice;
    return keeps(r) ? { moves: r.moves, steps: r.steps, preemptions: s.preemptions } : undefined;
  };
  const first = attempt(moves);
  if (!first) {
    // The lenient replay lost the bug (it should not): report the schedule as found.
    return {
      moves,
      steps: moves.length,
      preemptions: 0,
      before: { steps: moves.length, preemptions: 0 },
      tries,
    };
  }
  let best = first;
  const before = { steps: moves.length, preemptions: first.preemptions };
  // No step had a choice: this is the only schedule there is, and every candidate would replay it.
  if (forced) return { ...best, before, tries };
  const better = (c: typeof best) =>
    c.steps < best.steps || (c.steps === best.steps && c.preemptions < best.preemptions);
  let improved = true;
  while (improved && tries < maxTries) {
    improved = false;
    // Pass 1: remove a preemption by running the interrupted actor on.
    for (let i = 1; i < best.moves.length && tries < maxTries; i++) {
      const prev = actorOf(best.moves[i - 1]);
      if (actorOf(best.moves[i]) === prev) continue;
      let k = i;
      while (k < best.moves.length && actorOf(best.moves[k]) !== prev) k++;
      if (k === best.moves.length) continue;
      let l = k;
      while (l < best.moves.length && actorOf(best.moves[l]) === prev) l++;
      const m = best.moves;
      const c = attempt([...m.slice(0, i), ...m.slice(k, l), ...m.slice(i, k), ...m.slice(l)]);
      if (c && better(c)) {
        best = c;
        improved = true;
      }
    }
    // Pass 2: drop chunks of moves.
    for (let size = Math.max(1, best.moves.length >> 1); size >= 1 && tries < maxTries; size >>= 1) {
      for (let at = 0; at + size <= best.moves.length && tries < maxTries; ) {
        const m = best.moves;
        const c = attempt([...m.slice(0, at), ...m.slice(at + size)]);
        if (c && better(c)) {
          best = c;
          improved = true;
        } else at += size;
      }
    }
  }
  return { ...best, before, tries };
}

function actorOf(key: string): string {
  return key.split(/[<#]/)[0];
}
