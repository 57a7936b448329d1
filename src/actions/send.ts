import type { EventObject, MachineContext } from 'xstate';
import { type OpArg, opAction, resolveArg, shown } from './op-action.ts';

/** Puts `event` in actor `to`'s mailbox (one step; delivery is another step). */
export function send<
  TContext extends MachineContext,
  TEvent extends EventObject,
  TSent extends EventObject = EventObject,
>(to: OpArg<string, TContext, TEvent>, event: OpArg<TSent, TContext, TEvent>) {
  return opAction<TContext, TEvent>(
    (args) => ({
      op: 'send',
      to: resolveArg(to, args),
      event: resolveArg(event, args),
    }),
    `send ${shown(event)} → ${shown(to)}`,
  );
}
