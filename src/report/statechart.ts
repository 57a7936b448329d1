import type { AnyStateMachine, AnyStateNode } from 'xstate';
import { opLabel } from '../actions/op-action.ts';

/**
 * A machine's statechart read from its own xstate definition (never a hand-drawn copy):
 * states nested as they are defined, with their kind, tags and entry actions, and every
 * transition with its event, guard and actions. The diagram writers (Mermaid, SVG) draw
 * from this.
 */
export interface Chart {
  readonly id: string;
  readonly root: ChartState;
  readonly transitions: readonly ChartTransition[];
}

export interface ChartState {
  /** xstate's id: the machine id and the path, dot-separated. */
  readonly id: string;
  readonly key: string;
  readonly kind: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  /** The initial child's id (compound states). */
  readonly initial?: string;
  readonly tags: readonly string[];
  readonly entry: readonly string[];
  readonly children: readonly ChartState[];
}

export interface ChartTransition {
  /** Source id, event and position: stable across runs, for coverage. */
  readonly id: string;
  readonly source: string;
  /** No targets: a targetless transition (actions only). */
  readonly targets: readonly string[];
  /** The event, or `always` for an eventless transition. */
  readonly event: string;
  readonly guard?: string;
  readonly actions: readonly string[];
}

type TransitionDef = NonNullable<AnyStateNode['always']>[number];

export function chartOf(machine: AnyStateMachine): Chart {
  const transitions: ChartTransition[] = [];
  const impl = machine.implementations.actions as Record<string, unknown>;
  const actionName = (a: unknown): string => {
    if (typeof a === 'string') {
      const op = opLabel(impl[a]);
      return op ? `${a}: ${op}` : a;
    }
    const op = opLabel(a);
    if (op) return op;
    const type = (a as { type?: unknown }).type;
    if (typeof type === 'string' && !type.startsWith('xstate.')) return type;
    if (type === 'xstate.assign') return 'assign';
    const name = (a as { name?: unknown }).name;
    return typeof name === 'string' && name !== '' ? name : 'action';
  };
  const guardName = (g: unknown): string | undefined => {
    if (g === undefined) return undefined;
    if (typeof g === 'string') return g;
    if (typeof g === 'function') return g.name && g.name !== 'guard' ? g.name : 'guard';
    const type = (g as { type?: unknown }).type;
    return typeof type === 'string' ? type : 'guard';
  };
  const walk = (n: AnyStateNode): ChartState => {
    const add = (event: string, ts: readonly TransitionDef[]) => {
      ts.forEach((t, i) => {
        const guard = guardName(t.guard);
        transitions.push({
          id: `${n.id}#${event}#${i}`,
          source: n.id,
          targets: (t.target ?? []).map((x) => x.id),
          event,
          ...(guard ? { guard } : {}),
          actions: t.actions.map(actionName),
        });
      });
    };
    for (const [event, ts] of n.transitions) add(event, ts);
    if (n.always) add('always', n.always);
    const children = Object.values(n.states).map(walk);
    return {
      id: n.id,
      key: n.key,
      kind: n.type,
      ...(n.type === 'compound' && n.initial?.target?.[0] ? { initial: n.initial.target[0].id } : {}),
      tags: [...n.tags],
      entry: n.entry.map(actionName),
      children,
    };
  };
  return { id: machine.id, root: walk(machine.root), transitions };
}
