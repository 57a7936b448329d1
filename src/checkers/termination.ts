import type { ActorHost } from '../runtime/actor-host.ts';
import type { LockTable } from '../runtime/locks.ts';
import type { Bug } from '../runtime/step.ts';

/**
 * What the end of a run says when no step is enabled (DESIGN §2, "Checkers"), in this
 * order: actors waiting for locks are a deadlock, with the wait-for edges named; an actor
 * in a state tagged `hot` is a liveness bug (P's hot states); an actor in any other
 * non-final state that is not tagged `idle` is stuck waiting for a message that will never
 * come, reported as a deadlock.
 */
export function terminationBug(hosts: readonly ActorHost[], locks: LockTable, step: number): Bug | undefined {
  const waits: string[] = [];
  for (const h of hosts) {
    const o = h.queue[0]?.op;
    if (o?.op === 'acquire') {
      const holders = locks.holders(o.lock);
      waits.push(`${h.name} waits for ${o.lock} (${o.mode}) held by ${holders.join(', ') || 'nobody'}`);
    }
  }
  if (waits.length) return { kind: 'deadlock', message: `deadlock: ${waits.join('; ')}`, step };
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
