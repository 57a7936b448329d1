import type { EventObject, MachineContext } from 'xstate';
import { opAction } from './op-action.ts';

/**
 * Reads the logical clock, which advances on every read. Only `now` steps touch the clock,
 * so they are ordered among themselves and independent of everything else.
 */
export function now<TContext extends MachineContext, TEvent extends EventObject>(tag: string) {
  return opAction<TContext, TEvent>(() => ({ op: 'now', tag }), `now (${tag})`);
}
