import { PAGE } from './runstate-layout.ts';

/**
 * KVM's gfn_to_pfn_cache (GPC), LNX:virt/kvm/pfncache.c, as domain-facts §2.3 describes
 * it. A GPC is a structure in host memory guarded by an rwlock (`gpc->lock`): readers of
 * the cached mapping hold it shared; refresh, activate and the MMU-notifier invalidation
 * take it exclusive. Here the structure is one 8-byte word in the model's host-memory
 * page, so the race detector sees who reads and writes it, and under which lock:
 *
 *   byte 0 `active`, byte 1 `valid`, bytes 2-7 the cached gpa (little-endian).
 *
 * The operations themselves (check, refresh, activate, invalidate) are the steps the
 * runstate writer and the MMU notifier run; this module holds their semantics.
 */
export interface GpcRef {
  /** The rwlock's name in the scenario's lock table. */
  readonly lock: string;
  /** Host address of the GPC word. */
  readonly addr: number;
}

export interface GpcWord {
  readonly active: boolean;
  readonly valid: boolean;
  readonly gpa: number;
}

export const GPC_VALID_OFS = 1;

export function encodeGpc(w: GpcWord): number[] {
  const out = [w.active ? 1 : 0, w.valid ? 1 : 0];
  let g = w.gpa;
  for (let i = 0; i < 6; i++) {
    out.push(g % 256);
    g = Math.floor(g / 256);
  }
  return out;
}

export function decodeGpc(bytes: readonly number[]): GpcWord {
  let gpa = 0;
  for (let i = 7; i >= 2; i--) gpa = gpa * 256 + (bytes[i] ?? 0);
  return { active: bytes[0] === 1, valid: bytes[1] === 1, gpa };
}

/**
 * `kvm_gpc_check(gpc, len)`: fails if the cache is not active, not valid, or the length
 * crosses the page from the cached gpa (§2.3 "GPC semantics"). Memslot generations and
 * bad hvas are not modelled.
 */
export function gpcCheck(w: GpcWord, len: number): boolean {
  return w.active && w.valid && (w.gpa & (PAGE - 1)) + len <= PAGE;
}

/** `kvm_gpc_refresh(gpc, len)` returns -EINVAL when the length crosses the page. */
export function refreshFits(w: GpcWord, len: number): boolean {
  return (w.gpa & (PAGE - 1)) + len <= PAGE;
}
