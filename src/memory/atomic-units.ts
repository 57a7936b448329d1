/**
 * How the modelled hardware splits an access into single-copy-atomic units (DESIGN §1,
 * "Guest memory"): a naturally aligned access of 1, 2, 4 or 8 bytes is one unit; anything
 * else is cut into naturally aligned pieces, lowest address first. Naturally aligned
 * pieces of at most 8 bytes never cross a cache line or a page.
 */
export interface Unit {
  readonly addr: number;
  readonly width: number;
  /** Offset of this unit within the whole access. */
  readonly offset: number;
}

export const PAGE_SIZE = 4096;
export const CACHE_LINE = 64;
export const MAX_ATOMIC = 8;

export function atomicUnits(addr: number, width: number): Unit[] {
  const units: Unit[] = [];
  let cur = addr;
  let left = width;
  while (left > 0) {
    let size = MAX_ATOMIC;
    while (size > left || cur % size !== 0) size >>= 1;
    units.push({ addr: cur, width: size, offset: cur - addr });
    cur += size;
    left -= size;
  }
  return units;
}

/** True when an access is one single-copy-atomic unit. */
export function isAtomic(addr: number, width: number): boolean {
  return width <= MAX_ATOMIC && (width & (width - 1)) === 0 && addr % width === 0;
}
