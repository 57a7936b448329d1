import type { Dir } from './ioreq.ts';

/**
 * The per-vCPU MMIO cache, `struct hvm_mmio_cache` (domain-facts §1.1, §1.5): 3 entries
 * of 64 bytes, kept across the re-emulation passes of one instruction. Earlier chunks of a
 * multi-cycle access are replayed from it instead of going back to the device model.
 *
 * The three policies below are the only difference between the scenario's variants; the
 * vCPU machine takes one through the `emulatePass` action that each variant provides.
 */
export const MMIO_CACHE_ENTRIES = 3; // mmio_cache[3], asm/hvm/vcpu.h
export const MMIO_CACHE_SPACE = 64; // max_bytes = 64, hvmemul_cache_init

export interface CacheEntry {
  /** Pre-fix: the linear address of the piece that hit MMIO. Fixed: the operand's start. */
  readonly gla: number;
  readonly dir: Dir;
  /** Offset from gla to the first MMIO byte (added by 672894a11f; 0 before it). */
  readonly skip: number;
  /** Bytes of buffer filled, including skip. */
  size: number;
  readonly buffer: number[];
  /** Model-only (ghost): the operands that used this entry, for invariant I6. */
  readonly users: string[];
}

/** A piece of an operand, as linear_read/linear_write see it after the page split. */
export interface Piece {
  readonly operand: string;
  /** The operand's original linear address (`start`). */
  readonly start: number;
  readonly addr: number;
  readonly bytes: number;
  readonly dir: Dir;
}

export interface EntryChoice {
  readonly entry: CacheEntry;
  /** Offset into the entry's buffer (and into the operand buffer) of the piece's first byte. */
  readonly offset: number;
  /** Whether the entry belongs to the cache (a no-cache policy hands out throwaway ones). */
  readonly kept: boolean;
}

export interface CachePolicy {
  readonly name: string;
  /** linear_read/linear_write: go to RAM first (true), or force the MMIO path to replay. */
  tryRamFirst(cache: readonly CacheEntry[], piece: Piece): boolean;
  /**
   * hvmemul_linear_mmio_access: the entry for this piece (found or created), or
   * undefined when none can be had (the cache is full): UNHANDLEABLE.
   */
  entryFor(cache: CacheEntry[], piece: Piece): EntryChoice | undefined;
}

function find(cache: readonly CacheEntry[], gla: number, dir: Dir): CacheEntry | undefined {
  return cache.find((e) => e.gla === gla && e.dir === dir);
}

function create(cache: CacheEntry[], gla: number, dir: Dir, skip: number): CacheEntry | undefined {
  // The count is checked before it is incremented; a full cache returns NULL, with no
  // domain_crash since a43c1dec24 (domain-facts §1.5).
  if (cache.length >= MMIO_CACHE_ENTRIES) return undefined;
  const e: CacheEntry = {
    gla,
    dir,
    skip,
    size: skip,
    buffer: new Array(MMIO_CACHE_SPACE).fill(0),
    users: [],
  };
  cache.push(e);
  return e;
}

/**
 * Before 672894a11f (XEN@672894a11f^): each piece of a page-straddling operand looks the
 * cache up by its own address, so one operand uses two entries, keyed P-k and P, and an
 * operand that starts at P aliases the other's tail entry (domain-facts §1.6 A, B).
 */
export const preFixPolicy: CachePolicy = {
  name: 'pre-fix',
  tryRamFirst: (cache, p) => !find(cache, p.addr, p.dir),
  entryFor(cache, p) {
    const entry = find(cache, p.addr, p.dir) ?? create(cache, p.addr, p.dir, 0);
    return entry && { entry, offset: 0, kept: true };
  },
};

/**
 * 672894a11f (XEN@672894a11f:xen/arch/x86/hvm/emulate.c): entries are keyed by the
 * operand's start and record `skip`, the offset of the first MMIO byte; RAM parts ahead of
 * or past the cached MMIO span keep going to RAM on every pass (domain-facts §1.5).
 */
export const fixedPolicy: CachePolicy = {
  name: 'fixed',
  tryRamFirst(cache, p) {
    const e = find(cache, p.start, p.dir); // skip=~0: find only, never create
    return !e || p.addr + p.bytes <= p.start + e.skip || p.addr >= p.start + e.size;
  },
  entryFor(cache, p) {
    const offset = p.addr - p.start;
    const existing = find(cache, p.start, p.dir); // lookup of an existing entry ignores skip
    if (existing) return { entry: existing, offset, kept: true };
    if (offset >= MMIO_CACHE_SPACE) return undefined; // a new entry needs skip < space
    const entry = create(cache, p.start, p.dir, offset);
    return entry && { entry, offset, kept: true };
  },
};

/**
 * No MMIO cache at all: every re-emulation pass re-issues the operand's device accesses,
 * and only Xen's single latched request stands between them and the device.
 */
export const noCachePolicy: CachePolicy = {
  name: 'no-cache',
  tryRamFirst: () => true,
  entryFor(_cache, p) {
    const offset = p.addr - p.start;
    const entry: CacheEntry = {
      gla: p.start,
      dir: p.dir,
      skip: offset,
      size: offset,
      buffer: new Array(MMIO_CACHE_SPACE).fill(0),
      users: [],
    };
    return { entry, offset, kept: false };
  },
};
