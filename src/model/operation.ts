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

/**
 * How a memory access synchronises, for the race detector (src/checkers/):
 * - `plain` (the default): an ordinary access; two conflicting plain accesses that
 *   happens-before does not order are a data race.
 * - `atomic`: a marked access (READ_ONCE/WRITE_ONCE, an atomic op). An atomic write
 *   releases, an atomic read acquires, and atomic accesses never race with each other.
 *   As KCSAN does, an access declared atomic that the hardware splits (wider than 8 bytes,
 *   unaligned, or crossing a line or page) counts as plain.
 * - `racy`: a read racy by design (the kernel's data_race(), or a seqlock read side whose
 *   result a later step validates). Never reported, except against a write into a
 *   scenario's seqlock data that its flag did not cover (see `seqlocks` in ScenarioSpec).
 */
export type AccessSync = 'plain' | 'atomic' | 'racy';
export type Bytes = readonly number[];

export type Operation =
  | { readonly op: 'send'; readonly to: string; readonly event: { readonly type: string } }
  | {
      readonly op: 'read';
      readonly addr: number;
      readonly width: number;
      readonly tag: string;
      readonly sync?: AccessSync;
    }
  | {
      readonly op: 'write';
      readonly addr: number;
      readonly bytes: Bytes;
      readonly tag?: string;
      readonly sync?: Exclude<AccessSync, 'racy'>;
    }
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
