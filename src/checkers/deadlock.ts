/**
 * Deadlock on locks, named by its wait-for cycle (the wait-for graph of database and OS
 * deadlock detection, e.g. Coffman, Elphick and Shoshani, "System deadlocks", 1971): when no
 * step is enabled, each actor waiting for a lock waits for the lock's holders. A cycle in
 * that graph is reported actor by actor, with the lock each holds and the lock it waits
 * for, and the steps that took the held locks as the culprits. Waits that form no cycle
 * (the holder finished, or is stuck elsewhere) are listed as they are.
 */
import type { ActorHost } from '../runtime/actor-host.ts';
import type { LockTable } from '../runtime/locks.ts';
import type { Bug } from '../runtime/step.ts';

interface Wait {
  readonly actor: string;
  readonly lock: string;
  readonly mode: string;
  readonly holders: readonly string[];
}

export function lockWaitBug(hosts: readonly ActorHost[], locks: LockTable, step: number): Bug | undefined {
  const waits = new Map<string, Wait>();
  for (const h of hosts) {
    const o = h.queue[0]?.op;
    if (o?.op === 'acquire')
      waits.set(h.name, { actor: h.name, lock: o.lock, mode: o.mode, holders: locks.holders(o.lock) });
  }
  if (waits.size === 0) return undefined;
  const cycle = findCycle(hosts, waits);
  if (cycle) {
    const parts: string[] = [];
    const steps: number[] = [];
    cycle.forEach((w, i) => {
      // What this actor holds is what the one before it in the cycle waits for.
      const prev = cycle[(i + cycle.length - 1) % cycle.length];
      const next = cycle[(i + 1) % cycle.length];
      const hold = locks.holdOf(prev.lock, w.actor);
      if (hold) steps.push(hold.step);
      parts.push(`${w.actor} holds ${prev.lock} and waits for ${w.lock} (held by ${next.actor})`);
    });
    return {
      kind: 'deadlock',
      message: `deadlock: ${parts.join('; ')}`,
      step,
      actor: cycle[0].actor,
      steps,
      key: cycle
        .map((w) => `${w.actor}>${w.lock}`)
        .sort()
        .join(','),
    };
  }
  const list = [...waits.values()].map(
    (w) => `${w.actor} waits for ${w.lock} (${w.mode}) held by ${w.holders.join(', ') || 'nobody'}`,
  );
  return { kind: 'deadlock', message: `deadlock: ${list.join('; ')}`, step };
}

/** The first wait-for cycle, searching from each waiting actor in declaration order. */
function findCycle(hosts: readonly ActorHost[], waits: ReadonlyMap<string, Wait>): Wait[] | undefined {
  for (const h of hosts) {
    const start = waits.get(h.name);
    if (!start) continue;
    const path: Wait[] = [start];
    const on = new Set([start.actor]);
    const visit = (w: Wait): boolean => {
      for (const holder of w.holders) {
        if (holder === start.actor) return true;
        const next = waits.get(holder);
        if (!next || on.has(holder)) continue;
        path.push(next);
        on.add(holder);
        if (visit(next)) return true;
        path.pop();
        on.delete(holder);
      }
      return false;
    };
    if (visit(start)) return path;
  }
  return undefined;
}
