import { type ExecutionResult, replayMoves } from '../explore/run-execution.ts';
import { ModelError } from '../model/errors.ts';
import type { ScenarioInstance } from '../scenario/instance.ts';
import type { LiveLog, LiveStep } from './free-runner.ts';

/** What the post-run check makes of a free-running run. */
export interface LiveVerdict {
  /** Every step of every thread, in ticket order: the interleaving observed. */
  readonly observed: readonly (LiveStep & { readonly actor: string })[];
  /** The observed interleaving replayed in process with every checker, when it fits the model. */
  readonly replay?: ExecutionResult;
  /**
   * The replay read every byte the live run read (up to its bug, if it found one): it is
   * the run that happened, not just one like it.
   */
  readonly exact: boolean;
  /** Memory steps that overlapped another thread's step in real time. */
  readonly overlapped: number;
  /** Why the observed interleaving could not be replayed (a step the model would not take there). */
  readonly diverged?: string;
}

/**
 * After a free-running run (DESIGN §2, "Worker threads"): merges the threads' logs in
 * ticket order and replays that interleaving through the in-process runtime, so the same
 * race (happens-before vector clocks over every access and synchronisation), lock-order,
 * deadlock and invariant checkers judge it. A race is therefore reported even when its
 * bytes happened not to collide in the run. The replay is exact when it read what the
 * threads read; a bug it finds comes with a trace `vcpusim replay` runs.
 */
export function checkLive(instance: ScenarioInstance, logs: readonly LiveLog[]): LiveVerdict {
  const observed = logs
    .flatMap((l) => l.steps.map((s) => ({ ...s, actor: l.actor })))
    .sort((a, b) => a.ticket - b.ticket);
  const overlapped = observed.filter((s) => s.overlapped).length;
  let replay: ExecutionResult;
  try {
    replay = replayMoves(
      instance,
      observed.map((s) => s.move),
      { partial: true },
    );
  } catch (e) {
    if (e instanceof ModelError && e.kind === 'divergence')
      return { observed, exact: false, overlapped, diverged: e.message };
    throw e;
  }
  // A bug stops the replay: what it replayed up to there must match.
  const n = replay.records.length;
  const exact =
    (n === observed.length || replay.bug !== undefined) &&
    replay.records.every((r, i) => same(observed[i].bytes, r.access?.bytes));
  return { observed, replay, exact, overlapped };
}

function same(a: readonly number[] | undefined, b: readonly number[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
