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

/** What each operation action does, for diagrams drawn from the machine definition. */
const labels = new WeakMap<object, string>();

/** The label of an operation action (e.g. `acquire gpc1 (shared)`), if it is one. */
export function opLabel(action: unknown): string | undefined {
  return typeof action === 'function' || (typeof action === 'object' && action !== null)
    ? labels.get(action)
    : undefined;
}

/** An argument as a label shows it: `…` when computed at run time, numbers in hex when asked. */
export function shown(arg: unknown, hex = false): string {
  if (typeof arg === 'function') return '…';
  if (typeof arg === 'number' && hex) return `0x${arg.toString(16)}`;
  if (Array.isArray(arg)) return `${arg.length} bytes`;
  if (typeof arg === 'object' && arg !== null && 'type' in arg) return String(arg.type);
  return String(arg);
}

/** Wraps the construction of one operation as an xstate `emit` action, labelled for diagrams. */
export function opAction<TContext extends MachineContext, TEvent extends EventObject>(
  make: (args: ActionArgs<TContext, TEvent, TEvent>) => Operation,
  label: string,
) {
  const action = emit<TContext, TEvent, ParameterizedObject['params'] | undefined, TEvent, OperationEvent>(
    (args) => ({ ...make(args), type: OPERATION_EVENT }) as OperationEvent,
  );
  labels.set(action, label);
  return action;
}
