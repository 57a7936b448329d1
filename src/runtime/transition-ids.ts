import type { AnyStateMachine, AnyStateNode } from 'xstate';

/**
 * Names for a machine's transitions that stay the same from run to run: the source
 * state's id, the event (`always` for an eventless transition) and the transition's place
 * among that state's transitions for the event. Coverage is counted in these names, and
 * the diagrams draw them (src/report/statechart.ts).
 */
export function transitionId(sourceId: string, event: string, index: number): string {
  return `${sourceId}#${event}#${index}`;
}

const cache = new WeakMap<AnyStateMachine, ReadonlyMap<object, string>>();

/** Every transition object of the machine's definition → its name. */
export function transitionIds(machine: AnyStateMachine): ReadonlyMap<object, string> {
  let ids = cache.get(machine);
  if (!ids) {
    const map = new Map<object, string>();
    const walk = (n: AnyStateNode) => {
      const add = (event: string, ts: readonly object[]) => {
        for (let i = 0; i < ts.length; i++) map.set(ts[i], transitionId(n.id, event, i));
      };
      for (const [event, ts] of n.transitions) add(event, ts);
      if (n.always) add('always', n.always);
      Object.values(n.states).forEach(walk);
    };
    walk(machine.root);
    cache.set(machine, (ids = map));
  }
  return ids;
}
