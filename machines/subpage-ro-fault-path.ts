/**
 * Where a guest store to a read-only MMIO page goes in Xen (domain-facts §3.3): which
 * write-fault path handles it, and the checks each path makes before
 * `subpage_mmio_write_emulate`. Pure functions of the store; the vCPU machine
 * (subpage-ro-vcpu.ts) runs them between its memory operations.
 */
export type GuestKind = 'hvm-domU' | 'pvh-dom0' | 'pv';

/** A guest store: `len` bytes at `offset` of window page `page`; the instruction faults at cr2. */
export interface GuestStore {
  readonly page: number;
  readonly offset: number;
  readonly len: number;
  readonly data: readonly number[];
  /** The faulting address's offset in the page, when the emulated store is not at it (PV). */
  readonly cr2Offset?: number;
}

/**
 * What handles the write fault:
 * - `crash`: domain_crash();
 * - `hook`: emulation with the write hook `mmio_ro_emulated_write` (PV #PF; HVM under
 *   8847d6e23f for the hardware domain or an accepted domU write);
 * - `handler`: the HVM MMIO handler of 8f36bde2b2 (2025), via handle_mmio_with_translation.
 */
export type Route = 'crash' | 'hook' | 'handler';

/** How one store ended. `stored` is the only one in which the device saw it. */
export type StoreOutcome =
  | 'stored'
  | 'dropped'
  | 'domain_crash'
  | 'bad access'
  | 'ignored'
  | 'unsupported'
  | 'no entry'
  | 'map failed';

export const isPow2 = (n: number) => n > 0 && (n & (n - 1)) === 0;

/** The store's address offset and cr2's, in the page. */
export const cr2Of = (s: GuestStore) => s.cr2Offset ?? s.offset;

/**
 * §3.3 PV step 2, mmio_ro_emulated_write as 8847d6e23f wrote it: a naturally aligned
 * power-of-two store at exactly cr2: `((bytes | offset) & (bytes - 1)) || !bytes ||
 * offset != cr2` is UNHANDLEABLE ("bad access"). It does not bound the size: a
 * 16-byte store passes (§3.5, fixed by 8dbd9966f8).
 */
export function hookAccepts(s: GuestStore): boolean {
  return isPow2(s.len) && s.offset % s.len === 0 && s.offset === cr2Of(s);
}

/** The sizes the device store switch of subpage_mmio_write_emulate handles (writeb/w/l/q). */
export const STORE_WIDTHS: readonly number[] = [1, 2, 4, 8];

/** §3.3 HVM current: len in {1,2,4,8}, a power of two and aligned; anything else is logged and ignored. */
export function handlerAccepts(s: GuestStore): boolean {
  return STORE_WIDTHS.includes(s.len) && s.offset % s.len === 0;
}

/**
 * A store the sub-page feature exists to let through (§3.2 "the rest of the page will have
 * writes passed through", §3.6 S2/S3): width 1, 2, 4 or 8, naturally aligned, at cr2, into
 * a qword that is not read-only. Only the first byte's qword counts (§3.5).
 */
export function isAllowedStore(s: GuestStore, roQword: boolean): boolean {
  return STORE_WIDTHS.includes(s.len) && s.offset % s.len === 0 && s.offset === cr2Of(s) && !roQword;
}

/** Xen's mfn<<12|offset as its log lines print it: "0x<mfn><off as %03x>". */
export function mfnOffset(mfn: number, offset: number): string {
  return `0x${mfn.toString(16)}${offset.toString(16).padStart(3, '0')}`;
}
