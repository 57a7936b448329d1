import { ModelError } from '../model/errors.ts';
import { type Move, moveKey } from '../runtime/step.ts';
import type { ExecutionSummary, Strategy } from './strategy.ts';

/**
 * Replays a recorded schedule (as shuttle's ReplayScheduler replays its compact schedule
 * string), move by move, matched by actor and channel identity. A move
 * that is not enabled where the trace says it was means the trace no longer fits the
 * model: it fails at that step, naming what was expected and what was possible.
 */
export class ReplayStrategy implements Strategy {
  readonly name = 'replay';
  exhausted = false;
  private used = false;

  constructor(
    private readonly moves: readonly string[],
    /** What each recorded step did, to name it in a divergence. */
    private readonly whats: readonly (string | undefined)[] = [],
    /** The schedule is a prefix: the execution stops where it ends (a lock-order witness). */
    private readonly partial = false,
  ) {}

  begin(): boolean {
    if (this.used) {
      this.exhausted = true;
      return false;
    }
    this.used = true;
    return true;
  }

  pick(enabled: readonly Move[], step: number): Move | undefined {
    const want = this.moves[step];
    if (want === undefined && this.partial) return undefined;
    if (want === undefined) {
      throw new ModelError(
        'divergence',
        `trace diverges at step ${step + 1}: the trace ends after ${this.moves.length} steps, but the model can still move (${enabled.map(moveKey).join(', ')})`,
        { step: step + 1 },
      );
    }
    const m = enabled.find((e) => moveKey(e) === want);
    if (!m) {
      const what = this.whats[step] ? ` to ${this.whats[step]}` : '';
      throw new ModelError(
        'divergence',
        `trace diverges at step ${step + 1}: it expects '${want}'${what}, but the enabled moves are: ${enabled.map(moveKey).join(', ') || 'none'}`,
        { step: step + 1 },
      );
    }
    return m;
  }

  /** A run that stopped, with no bug, before the recorded moves ran out does not fit either. */
  end(summary: ExecutionSummary): void {
    if (!summary.bug && summary.moves.length < this.moves.length) this.pick([], summary.moves.length);
  }
}
