import type { ActorHost } from '../runtime/actor-host.ts';
import type { LockTable } from '../runtime/locks.ts';
import type { Bug } from '../runtime/step.ts';
import { lockWaitBug } from './deadlock.ts';
import { endedHot } from './liveness.ts';
import { ALL_CHECKERS, type CheckerSettings } from './settings.ts';

/**
 * What the end of a run says when no step is enabled (DESIGN §2, "Checkers"), in this
 * order: actors waiting for locks are a deadlock, named by its wait-for cycle when there
 * is one (deadlock.ts); an actor in a state tagged `hot` is a liveness bug (P's hot states,
 * liveness.ts); an actor in any other non-final state that is not tagged `idle` is stuck
 * waiting for a message that will never come, reported as a deadlock. The deadlock and
 * liveness checkers can each be turned off (settings.ts).
 */
export function terminationBug(
  hosts: readonly ActorHost[],
  locks: LockTable,
  step: number,
  checkers: CheckerSettings = ALL_CHECKERS,
): Bug | undefined {
  if (checkers.deadlock) {
    const waiting = lockWaitBug(hosts, locks, step);
    if (waiting) return waiting;
  }
  if (checkers.liveness) {
    const hot = endedHot(hosts, step);
    if (hot) return hot;
  }
  if (!checkers.deadlock) return undefined;
  for (const h of hosts) {
    if (!h.done && !h.hasTag('idle')) {
      return {
        kind: 'deadlock',
        message: `deadlock: ${h.name} is stuck in state '${h.state}' with an empty mailbox (the state is not tagged 'idle')`,
        step,
        actor: h.name,
      };
    }
  }
  return undefined;
}
