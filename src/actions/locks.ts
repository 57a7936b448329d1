import type { EventObject, MachineContext } from 'xstate';
import type { LockMode } from '../model/operation.ts';
import { type OpArg, opAction, resolveArg, shown } from './op-action.ts';

/** Blocks until the lock is granted (the grant is the step). Spinlocks take only `exclusive`. */
export function acquire<TContext extends MachineContext, TEvent extends EventObject>(
  lock: OpArg<string, TContext, TEvent>,
  mode: LockMode = 'exclusive',
) {
  return opAction<TContext, TEvent>(
    (args) => ({ op: 'acquire', lock: resolveArg(lock, args), mode }),
    `acquire ${shown(lock)}${mode === 'shared' ? ' (shared)' : ''}`,
  );
}

/** Takes the lock if it is free for `mode`; the result under `tag` is true or false. */
export function tryAcquire<TContext extends MachineContext, TEvent extends EventObject>(
  lock: OpArg<string, TContext, TEvent>,
  mode: LockMode,
  tag: string,
) {
  return opAction<TContext, TEvent>(
    (args) => ({
      op: 'tryAcquire',
      lock: resolveArg(lock, args),
      mode,
      tag,
    }),
    `tryAcquire ${shown(lock)}${mode === 'shared' ? ' (shared)' : ''}`,
  );
}

export function release<TContext extends MachineContext, TEvent extends EventObject>(
  lock: OpArg<string, TContext, TEvent>,
) {
  return opAction<TContext, TEvent>(
    (args) => ({ op: 'release', lock: resolveArg(lock, args) }),
    `release ${shown(lock)}`,
  );
}
