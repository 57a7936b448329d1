import type { Dir } from './ioreq.ts';

/**
 * The emulated device behind the MMIO pages: a FIFO data register window. Every read pops
 * the next bytes of the FIFO, so a device access made twice is visible in the data and in
 * the device's log. Writes are recorded. Pure functions over the device state, held in the
 * device model's context.
 */
export interface DeviceAccess {
  readonly vcpu: number;
  readonly gpa: number;
  readonly size: number;
  readonly dir: Dir;
  readonly data: readonly number[];
}

export interface FifoDevice {
  /** Bytes popped so far. */
  readonly popped: number;
  readonly log: readonly DeviceAccess[];
}

export const emptyDevice: FifoDevice = { popped: 0, log: [] };

/** The k-th byte the FIFO produces: distinct neighbours, never zero. */
export function fifoByte(k: number): number {
  return ((k * 37 + 0x41) % 255) + 1;
}

export function deviceAccess(
  dev: FifoDevice,
  vcpu: number,
  gpa: number,
  size: number,
  dir: Dir,
  writeData: readonly number[],
): { device: FifoDevice; data: number[] } {
  const data =
    dir === 'read'
      ? Array.from({ length: size }, (_, i) => fifoByte(dev.popped + i))
      : writeData.slice(0, size);
  return {
    device: {
      popped: dir === 'read' ? dev.popped + size : dev.popped,
      log: [...dev.log, { vcpu, gpa, size, dir, data }],
    },
    data,
  };
}
