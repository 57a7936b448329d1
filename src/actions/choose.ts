import type { EventObject, MachineContext } from 'xstate';
import { type OpArg, opAction, resolveArg } from './op-action.ts';

/**
 * A nondeterministic choice. The scheduler picks one of `options` and records it in the
 * trace; the chosen option comes back under `tag`. This is the only randomness a machine
 * may use.
 */
export function choose<TContext extends MachineContext, TEvent extends EventObject>(
  tag: string,
  options: OpArg<readonly unknown[], TContext, TEvent>,
) {
  return opAction<TContext, TEvent>(
    (args) => ({ op: 'choose', tag, options: resolveArg(options, args) }),
    `choose ${tag}`,
  );
}
