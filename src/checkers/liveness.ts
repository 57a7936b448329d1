/**
 * Bounded liveness with hot states, as P's liveness monitors have them (A. Desai et al.,
 * "P: safe asynchronous event-driven programming", PLDI 2013; Coyote's hot states):
 * - an actor that ends a run in a state tagged `hot` (stopping there means the progress it
 *   owes never comes) is a liveness bug;
 * - an actor that takes more than `bounds.hotSteps` steps of its own in a row that end in
 *   states tagged `hot` is a liveness bug too: a bounded stand-in for "stays hot forever".
 * The streak counts the actor's own steps, not global steps, so the verdict is the same in
 * every interleaving of the same steps (what partial-order reduction relies on).
 */
import type { ActorHost } from '../runtime/actor-host.ts';
import type { Bug } from '../runtime/step.ts';

export class HotStreaks {
  /** Per actor: own steps in a row that ended hot, and the first step of that streak. */
  private readonly streak: Int32Array;

  constructor(
    private readonly n: number,
    private readonly bound: number,
    from?: HotStreaks,
  ) {
    this.streak = from ? from.streak.slice() : new Int32Array(2 * n);
  }

  clone(): HotStreaks {
    return new HotStreaks(this.n, this.bound, this);
  }

  /** After a step of actor `i` (the host), which is now hot or not. */
  afterStep(i: number, h: ActorHost, step: number): Bug | undefined {
    const s = this.streak;
    if (h.done || !h.hasTag('hot')) {
      s[i] = 0;
      return undefined;
    }
    if (s[i] === 0) s[this.n + i] = step;
    if (++s[i] <= this.bound) return undefined;
    return {
      kind: 'liveness',
      message: `liveness: ${h.name} stayed hot in '${h.state}' past ${this.bound} steps (hot since step ${s[this.n + i]})`,
      step,
      actor: h.name,
      steps: [s[this.n + i], step],
      key: `${h.name} hot past ${this.bound}`,
    };
  }
}

/** An actor left in a `hot` state when the run ends. */
export function endedHot(hosts: readonly ActorHost[], step: number): Bug | undefined {
  for (const h of hosts) {
    if (!h.done && h.hasTag('hot')) {
      return {
        kind: 'liveness',
        message: `liveness: ${h.name} ended in hot state '${h.state}'`,
        step,
        actor: h.name,
      };
    }
  }
  return undefined;
}
