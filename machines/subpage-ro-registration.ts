/**
 * Xen's sub-page read-only MMIO registry, `subpage_mmio_ro_add(start, size)`
 * (XEN@HEAD:xen/arch/x86/mm.c, domain-facts §3.1-3.2), as a pure function over the list of
 * `struct subpage_ro_range` entries. The boot actor (subpage-ro-boot.ts) runs it and writes
 * the entries it produces into host memory, where the write-fault paths read them.
 *
 * An entry in host memory (ENTRY_* offsets): the mfn (8 bytes), `mapped` (the lazily
 * ioremapped page, 8 bytes, null until the first allowed write) and `ro_elems`, a
 * 512-bit bitmap, little-endian like a Linux bitmap of unsigned longs.
 */
export const PAGE = 4096;
/** §3.1: MMIO_RO_SUBPAGE_GRAN, the granularity and alignment of start and size. */
export const MMIO_RO_SUBPAGE_GRAN = 8;
/** §3.1: 4096/8 = 512 bits per page; bit i set means qword i is read-only. */
export const RO_ELEMS_BITS = PAGE / MMIO_RO_SUBPAGE_GRAN;
export const ENTRY_MFN = 0x00;
export const ENTRY_MAPPED = 0x08;
export const ENTRY_RO_ELEMS = 0x10;
/** Room for one entry in the host-memory list. */
export const ENTRY_STRIDE = 0x80;
export const EINVAL = -22;

export interface SubpageEntry {
  readonly mfn: number;
  /** The read-only qwords of the page, ascending. */
  readonly roQwords: readonly number[];
}

/** One page a registration needs sub-page handling for: bytes [offsetS, offsetE]. */
export interface SubpageRange {
  readonly mfn: number;
  readonly offsetS: number;
  readonly offsetE: number;
}

export type AddResult =
  | {
      readonly rc: 0;
      readonly entries: readonly SubpageEntry[];
      /** The sub-page ranges it added (none for size 0 or whole pages). */
      readonly subpages: readonly SubpageRange[];
      /** Added to mmio_ro_ranges: whole pages mapped read-only (§3.2 step 4); undefined for size 0. */
      readonly roPages?: { readonly first: number; readonly last: number };
      /** The debug-build ASSERT that fires, if any: a bit already set (overlap, §3.2 step 3). */
      readonly assertion?: string;
    }
  | { readonly rc: typeof EINVAL; readonly reason: string; readonly assertion: string };

const pfn = (addr: number) => Math.floor(addr / PAGE);
const pageOffset = (addr: number) => addr % PAGE;

/**
 * §3.2 step 2: the pages of [start, start+size) that need sub-page handling. The start
 * page does if start is not page aligned or, when start and end share a page, end is not
 * the page's last byte; a distinct end page does if end is not its page's last byte.
 */
export function subpageRanges(start: number, size: number): SubpageRange[] {
  const end = start + size - 1;
  const mfnStart = pfn(start);
  const mfnEnd = pfn(end);
  const out: SubpageRange[] = [];
  const single = mfnStart === mfnEnd;
  if (pageOffset(start) !== 0 || (single && pageOffset(end) !== PAGE - 1))
    out.push({ mfn: mfnStart, offsetS: pageOffset(start), offsetE: single ? pageOffset(end) : PAGE - 1 });
  if (!single && pageOffset(end) !== PAGE - 1)
    out.push({ mfn: mfnEnd, offsetS: 0, offsetE: pageOffset(end) });
  return out;
}

/** The qwords a sub-page range makes read-only: [offsetS, offsetE] in steps of 8 (§3.2 step 3). */
export function qwordsOf(r: SubpageRange): number[] {
  const out: number[] = [];
  for (let i = r.offsetS; i <= r.offsetE; i += MMIO_RO_SUBPAGE_GRAN) out.push(i / MMIO_RO_SUBPAGE_GRAN);
  return out;
}

/** `subpage_mmio_ro_add(start, size)` on the list `entries` (§3.2). */
export function subpageMmioRoAdd(entries: readonly SubpageEntry[], start: number, size: number): AddResult {
  // §3.1/§3.2 step 1: start and size 8-byte aligned; -EINVAL in release builds, ASSERT in debug.
  if (start % MMIO_RO_SUBPAGE_GRAN !== 0 || size % MMIO_RO_SUBPAGE_GRAN !== 0) {
    const what = start % MMIO_RO_SUBPAGE_GRAN !== 0 ? 'start' : 'size';
    return {
      rc: EINVAL,
      reason: `${what} not aligned to MMIO_RO_SUBPAGE_GRAN (${MMIO_RO_SUBPAGE_GRAN})`,
      assertion: `ASSERT(IS_ALIGNED(${what}, MMIO_RO_SUBPAGE_GRAN))`,
    };
  }
  if (size === 0) return { rc: 0, entries, subpages: [] };
  const subpages = subpageRanges(start, size);
  let next = [...entries];
  let assertion: string | undefined;
  for (const r of subpages) {
    const i = next.findIndex((e) => e.mfn === r.mfn);
    const old = i >= 0 ? next[i].roQwords : [];
    const add = qwordsOf(r);
    // §3.2 step 3: each bit must be previously clear (ASSERT(!oldbit): no overlap).
    const again = add.find((q) => old.includes(q));
    if (again !== undefined && !assertion)
      assertion = `ASSERT(!oldbit) in subpage_mmio_ro_add_page: qword ${again} of mfn 0x${r.mfn.toString(16)} is already read-only`;
    const entry = { mfn: r.mfn, roQwords: [...new Set([...old, ...add])].sort((a, b) => a - b) };
    next = i >= 0 ? next.map((e, j) => (j === i ? entry : e)) : [...next, entry];
  }
  return {
    rc: 0,
    entries: next,
    subpages,
    roPages: { first: pfn(start), last: pfn(start + size - 1) },
    ...(assertion ? { assertion } : {}),
  };
}

/** The ro_elems bitmap as 64 bytes (bit i: byte i/8, bit i%8). */
export function bitmapBytes(roQwords: readonly number[]): number[] {
  const out = new Array<number>(RO_ELEMS_BITS / 8).fill(0);
  for (const q of roQwords) out[q >> 3] |= 1 << (q & 7);
  return out;
}

/** test_bit(offset / 8, ro_elems) on the unsigned long holding the bit, read as 8 bytes. */
export function roBitInWord(word: readonly number[], offset: number): boolean {
  const bit = Math.floor(offset / MMIO_RO_SUBPAGE_GRAN) % 64;
  return ((word[bit >> 3] ?? 0) & (1 << (bit & 7))) !== 0;
}

/** Where the unsigned long holding qword `offset/8`'s bit sits, from the bitmap's start. */
export function roWordOffset(offset: number): number {
  return Math.floor(Math.floor(offset / MMIO_RO_SUBPAGE_GRAN) / 64) * 8;
}

/** Is the qword holding byte `offset` read-only in `entries` for `mfn`? (§3.5: the first byte's qword.) */
export function isRoQword(entries: readonly SubpageEntry[], mfn: number, offset: number): boolean {
  const e = entries.find((x) => x.mfn === mfn);
  return !!e && e.roQwords.includes(Math.floor(offset / MMIO_RO_SUBPAGE_GRAN));
}

/** Runs registrations in order, as boot does: the entries, or the first failure. */
export function registerAll(
  ranges: readonly { readonly start: number; readonly size: number }[],
): readonly SubpageEntry[] {
  let entries: readonly SubpageEntry[] = [];
  for (const r of ranges) {
    const res = subpageMmioRoAdd(entries, r.start, r.size);
    if (res.rc === 0) entries = res.entries;
  }
  return entries;
}
