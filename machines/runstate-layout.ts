import { toLe } from '../src/index.ts';

/**
 * The Xen `vcpu_runstate_info` area a KVM vCPU publishes to its guest, in both layouts
 * (domain-facts §2.1, LNX:arch/x86/kvm/xen.c BUILD_BUG_ONs, XEN:xen/include/public/vcpu.h).
 *
 * | field            | 64-bit (48 bytes) | compat, packed (44 bytes) |
 * | state (int)      | 0                 | 0                         |
 * | padding          | 4-7               | none                      |
 * | state_entry_time | 8                 | 4 (only 4-byte aligned)   |
 * | time[4]          | 16..47            | 12..43                    |
 */
export type Layout = '64' | 'compat';

export const PAGE = 4096;
export const RUNSTATE_RUNNING = 0;
export const RUNSTATE_RUNNABLE = 1;
export const RUNSTATE_BLOCKED = 2;
export const RUNSTATE_OFFLINE = 3;
export const RUNSTATE_NAMES = ['running', 'runnable', 'blocked', 'offline'] as const;

/** XEN_RUNSTATE_UPDATE is bit 63 of state_entry_time: bit 7 of its last byte (little-endian). */
export const UPDATE_BIT_IN_TOP_BYTE = 0x80;

export function areaSize(layout: Layout): number {
  return layout === '64' ? 48 : 44;
}

/** `times_ofs`: where state_entry_time starts; time[] follows it (§2.1). */
export function timesOfs(layout: Layout): number {
  return layout === '64' ? 8 : 4;
}

/** Offset of the byte holding XEN_RUNSTATE_UPDATE: 15 (64-bit) or 11 (compat). */
export function flagOfs(layout: Layout): number {
  return timesOfs(layout) + 7;
}

/** What the writer publishes: the runstate and the times, all in ns. */
export interface Runstate {
  readonly state: number;
  readonly entryTime: number;
  /** running, runnable, blocked, offline. */
  readonly times: readonly [number, number, number, number];
}

/** The area's bytes for `rs`, with the update flag set in state_entry_time if asked. */
export function encodeRunstate(layout: Layout, rs: Runstate, flag = false): number[] {
  const out = new Array(areaSize(layout)).fill(0);
  const put = (at: number, value: bigint | number, width: number) => {
    toLe(value, width).forEach((b, i) => {
      out[at + i] = b;
    });
  };
  const t = timesOfs(layout);
  put(0, rs.state, 4);
  put(t, BigInt(rs.entryTime) | (flag ? 1n << 63n : 0n), 8);
  rs.times.forEach((v, k) => {
    put(t + 8 + 8 * k, v, 8);
  });
  return out;
}

/** What a copy of the area says; `flag` is XEN_RUNSTATE_UPDATE, `entryTime` without it. */
export interface DecodedRunstate extends Runstate {
  readonly flag: boolean;
}

const le = (bytes: readonly number[], at: number, width: number): bigint => {
  let v = 0n;
  for (let i = width - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[at + i] ?? 0);
  return v;
};

export function decodeRunstate(layout: Layout, bytes: readonly number[]): DecodedRunstate {
  const t = timesOfs(layout);
  const entry = le(bytes, t, 8);
  const time = (k: number) => Number(le(bytes, t + 8 + 8 * k, 8));
  return {
    state: Number(le(bytes, 0, 4)),
    entryTime: Number(entry & ((1n << 63n) - 1n)),
    flag: entry >> 63n === 1n,
    times: [time(0), time(1), time(2), time(3)],
  };
}

/** The selftest's check: state_entry_time == Σ time[] (§2.2, §2.6). */
export function timesAddUp(rs: Runstate): boolean {
  return rs.entryTime === rs.times[0] + rs.times[1] + rs.times[2] + rs.times[3];
}

/**
 * How the area splits over two pages (§2.3 step 1): `len1` bytes on the first page, `len2`
 * on the second (0 when it does not cross). The kernel splits when the area reaches or
 * crosses the page end (`≥`), so an area ending exactly at it has len2 = 0 anyway.
 */
export function splitLengths(gpa: number, size: number): { len1: number; len2: number } {
  const off = gpa & (PAGE - 1);
  if (off + size >= PAGE) return { len1: PAGE - off, len2: size - (PAGE - off) };
  return { len1: size, len2: 0 };
}
