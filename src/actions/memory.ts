import type { EventObject, MachineContext } from 'xstate';
import type { AccessSync, Bytes } from '../model/operation.ts';
import { type OpArg, opAction, resolveArg, shown } from './op-action.ts';

/**
 * Reads `width` bytes of guest memory. The access is split into single-copy-atomic units
 * (src/memory/atomic-units.ts), one scheduler step each. The result, under `tag` in the
 * completion event, is an AccessResult: the bytes, or the fault the page type raises.
 * `sync` says how the race detector treats it (AccessSync; default `plain`).
 */
export function read<TContext extends MachineContext, TEvent extends EventObject>(
  addr: OpArg<number, TContext, TEvent>,
  width: OpArg<number, TContext, TEvent>,
  tag: string,
  sync?: AccessSync,
) {
  return opAction<TContext, TEvent>(
    (args) => ({
      op: 'read',
      addr: resolveArg(addr, args),
      width: resolveArg(width, args),
      tag,
      ...(sync && sync !== 'plain' ? { sync } : {}),
    }),
    `read ${shown(addr, true)}/${shown(width)} (${tag})`,
  );
}

/** Writes bytes (little-endian order, lowest address first), split like `read`. */
export function write<TContext extends MachineContext, TEvent extends EventObject>(
  addr: OpArg<number, TContext, TEvent>,
  bytes: OpArg<Bytes, TContext, TEvent>,
  tag?: string,
  sync?: Exclude<AccessSync, 'racy'>,
) {
  return opAction<TContext, TEvent>(
    (args) => ({
      op: 'write',
      addr: resolveArg(addr, args),
      bytes: resolveArg(bytes, args),
      tag,
      ...(sync && sync !== 'plain' ? { sync } : {}),
    }),
    `write ${shown(addr, true)}/${Array.isArray(bytes) ? bytes.length : '…'}${tag ? ` (${tag})` : ''}`,
  );
}

/** An atomic compare-and-exchange of one naturally aligned unit (≤ 8 bytes): one step. */
export function cmpxchg<TContext extends MachineContext, TEvent extends EventObject>(
  addr: OpArg<number, TContext, TEvent>,
  expected: OpArg<Bytes, TContext, TEvent>,
  desired: OpArg<Bytes, TContext, TEvent>,
  tag: string,
) {
  return opAction<TContext, TEvent>(
    (args) => ({
      op: 'cmpxchg',
      addr: resolveArg(addr, args),
      expected: resolveArg(expected, args),
      desired: resolveArg(desired, args),
      tag,
    }),
    `cmpxchg ${shown(addr, true)} (${tag})`,
  );
}
