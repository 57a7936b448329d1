import {
  type ActionArgs,
  type EventObject,
  emit,
  type MachineContext,
  type ParameterizedObject,
} from 'xstate';
import { OPERATION_EVENT, type Operation } from '../model/operation.ts';

/** An operation as it travels through xstate's `emit`. */
export type OperationEvent = Operation & { readonly type: typeof OPERATION_EVENT };

/** An argument given as a value or computed from the transition's context and event. */
export type OpArg<T, TContext extends MachineContext, TEvent extends EventObject> =
  | T
  | ((args: ActionArgs<TContext, TEvent, TEvent>) => T);

export function resolveArg<T, TContext extends MachineContext, TEvent extends EventObject>(
  arg: OpArg<T, TContext, TEvent>,
  args: ActionArgs<TContext, TEvent, TEvent>,
): T {
  return typeof arg === 'function' ? (arg as (a: ActionArgs<TContext, TEvent, TEvent>) => T)(args) : arg;
}

/** Wraps the construction of one operation as an xstate `emit` action. */
export function opAction<TContext extends MachineContext, TEvent extends EventObject>(
  make: (args: ActionArgs<TContext, TEvent, TEvent>) => Operation,
) {
  return emit<TContext, TEvent, ParameterizedObject['params'] | undefined, TEvent, OperationEvent>(
    (args) => ({ ...make(args), type: OPERATION_EVENT }) as OperationEvent,
  );
}
