/**
 * The synchronous ioreq slot: layout and constants of `ioreq_t`
 * (domain-facts §1.1, XEN@HEAD:xen/include/public/hvm/ioreq.h). One 32-byte slot per
 * vCPU in the shared ioreq page, at index vcpu_id.
 */
export const IOREQ_SIZE = 32;
export const IOREQ_OFF = {
  addr: 0, // 8 bytes: guest physical address
  data: 8, // 8 bytes: the data (data_is_ptr=0 throughout this model)
  count: 16, // 4 bytes: repetitions
  size: 20, // 4 bytes: access size in bytes
  vpEport: 24, // 4 bytes: the vCPU's event-channel port, written by Xen
  stateByte: 30, // state:4 | data_is_ptr:1 | dir:1 | df:1 | _pad1:1, LSB first
  type: 31, // 1 byte: I/O type
} as const;

export const IOREQ_WRITE = 0;
export const IOREQ_READ = 1;

export const STATE_IOREQ_NONE = 0;
export const STATE_IOREQ_READY = 1;
export const STATE_IOREQ_INPROCESS = 2;
export const STATE_IORESP_READY = 3;
export const STATE_NAMES = ['NONE', 'READY', 'INPROCESS', 'IORESP_READY'] as const;

export const IOREQ_TYPE_PIO = 0;
export const IOREQ_TYPE_COPY = 1; // MMIO

export type Dir = 'read' | 'write';

/** One MMIO request as the emulator issues it (always 1 rep, data by value). */
export interface IoReq {
  readonly addr: number;
  readonly size: number;
  readonly dir: Dir;
  /** For a write: the bytes to write, `size` of them. */
  readonly data: readonly number[];
}

export function slotBase(ioreqPage: number, vcpuId: number): number {
  return ioreqPage + vcpuId * IOREQ_SIZE;
}

/** The state byte: state in bits 0-3, data_is_ptr bit 4 (0 here), dir bit 5, df bit 6 (0). */
export function stateByte(state: number, dir: Dir): number {
  return (state & 0xf) | ((dir === 'read' ? IOREQ_READ : IOREQ_WRITE) << 5);
}

export function stateOf(byte: number): number {
  return byte & 0xf;
}

export function dirOf(byte: number): Dir {
  return ((byte >> 5) & 1) === IOREQ_READ ? 'read' : 'write';
}

/** The event-channel port Xen allocates for each vCPU (any distinct numbers serve). */
export function portOf(vcpuId: number): number {
  return 10 + vcpuId;
}

/** The event-channel notification both sides send (`notify_via_xen_event_channel`). */
export interface EvtchnEvent {
  readonly type: 'evtchn';
  readonly port: number;
}

/**
 * hvmemul_do_io's check of a re-issued request against the latched one (§1.2 step 8):
 * type, addr, size, count, dir, df, data_is_ptr, and data only when it is a pointer. Type,
 * count (1), df and data_is_ptr (0) are the same for every request of this model, and data
 * travels by value, so it is not compared.
 */
export function sameRequest(a: IoReq, b: IoReq): boolean {
  return a.addr === b.addr && a.size === b.size && a.dir === b.dir;
}

export function describeReq(r: IoReq): string {
  return `${r.dir} 0x${r.addr.toString(16)}/${r.size}`;
}
