import type { AccessResult, DoneEvent } from './operation.ts';

/**
 * The bytes a read (or write) tagged `tag` gave back in a completion event. A fault, or a
 * missing tag, throws: the machine asked for bytes that are not there.
 */
export function resultBytes(event: { readonly type: string }, tag: string): readonly number[] {
  const r = (event as DoneEvent).results?.[tag] as AccessResult | undefined;
  if (!r) throw new Error(`no result tagged '${tag}' in ${event.type}`);
  if (!r.ok) throw new Error(`'${tag}' faulted (${r.fault} at 0x${r.addr.toString(16)})`);
  return r.bytes;
}

/** The result tagged `tag` (a choose option, a tryAcquire boolean, a clock value, …). */
export function result<T>(event: { readonly type: string }, tag: string): T {
  const results = (event as DoneEvent).results;
  if (!results || !(tag in results)) throw new Error(`no result tagged '${tag}' in ${event.type}`);
  return results[tag] as T;
}
