/**
 * Operations: the only effects a machine has on the shared world (DESIGN §1, "Actors").
 * A machine emits them with xstate `emit`, through the action creators in src/actions/.
 * The runtime queues them per actor and performs one per scheduler step.
 */

/** The xstate event type that carries an operation out of a machine. */
export const OPERATION_EVENT = 'vcpusim.op';
/** The event a machine receives when its queue of operations has drained. */
export const DONE_EVENT = 'ops.done';

export type LockMode = 'exclusive' | 'shared';
export type Bytes = readonly number[];

export type Operation =
  | { readonly op: 'send'; readonly to: string; readonly event: { readonly type: string } }
  | { readonly op: 'read'; readonly addr: number; readonly width: number; readonly tag: string }
  | { readonly op: 'write'; readonly addr: number; readonly bytes: Bytes; readonly tag?: string }
  | {
      readonly op: 'cmpxchg';
      readonly addr: number;
      readonly expected: Bytes;
      readonly desired: Bytes;
      readonly tag: string;
    }
  | { readonly op: 'acquire'; readonly lock: string; readonly mode: LockMode }
  | { readonly op: 'tryAcquire'; readonly lock: string; readonly mode: LockMode; readonly tag: string }
  | { readonly op: 'release'; readonly lock: string }
  | { readonly op: 'choose'; readonly tag: string; readonly options: readonly unknown[] }
  | { readonly op: 'now'; readonly tag: string }
  | { readonly op: 'assert'; readonly ok: boolean; readonly message: string };

export type OperationName = Operation['op'];
export const OPERATION_NAMES: readonly OperationName[] = [
  'send',
  'read',
  'write',
  'cmpxchg',
  'acquire',
  'tryAcquire',
  'release',
  'choose',
  'now',
  'assert',
];

/** What a memory access gives back: the bytes, or the fault the modelled hardware raises. */
export type AccessResult =
  | { readonly ok: true; readonly bytes: Bytes }
  | { readonly ok: false; readonly fault: MemoryFault; readonly addr: number };

/** `mmio`: an emulated page (p2m_mmio_dm), served by a device model, not by memory. */
export type MemoryFault = 'mmio' | 'unmapped' | 'read-only';

export interface CmpxchgResult {
  readonly ok: boolean;
  readonly old: Bytes;
}

/** The payload of the completion event, keyed by the operations' tags. */
export type OperationResults = Readonly<Record<string, unknown>>;

export interface DoneEvent {
  readonly type: typeof DONE_EVENT;
  readonly results: OperationResults;
}

export function hex(n: number): string {
  return '0x' + n.toString(16);
}
