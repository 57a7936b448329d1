import type { EventObject, MachineContext } from 'xstate';
import { type OpArg, opAction, resolveArg, shown } from './op-action.ts';

/**
 * An actor-level assertion. The condition is evaluated in the transition, against the
 * context and event of that moment; the check is its own step, reported as an
 * `assertion` bug when it fails.
 */
export function assert<TContext extends MachineContext, TEvent extends EventObject>(
  cond: OpArg<boolean, TContext, TEvent>,
  message: OpArg<string, TContext, TEvent>,
) {
  return opAction<TContext, TEvent>(
    (args) => ({
      op: 'assert',
      ok: resolveArg(cond, args),
      message: resolveArg(message, args),
    }),
    `assert ${shown(message)}`,
  );
}
