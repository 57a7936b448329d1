import { UsageError } from '../src/index.ts';

/**
 * Dom0's E820 memory map, in 4 KiB pages (domain-facts §5.1: RAM 1, RESERVED 2, ACPI 3,
 * NVS 4, UNUSABLE 5, as XEN:xen/arch/x86/include/asm/e820.h). Xen clones Dom0's map from
 * the host's; the builder works on page frame numbers (PFN_DOWN of the address, PFN_UP of
 * the size), so ranges here are whole pages.
 *
 * As a scenario parameter a map is a comma list of `type:first-last` (or `type:page`), page
 * numbers in hex, inclusive, sorted and non-overlapping, e.g.
 * `ram:0-9e,reserved:9f,acpi:fe-101`. The model's p2m covers GFNs below E820_LIMIT.
 */
export const E820_RAM = 1;
export const E820_RESERVED = 2;
export const E820_ACPI = 3;
export const E820_NVS = 4;
export const E820_UNUSABLE = 5;

export type E820Type =
  | typeof E820_RAM
  | typeof E820_RESERVED
  | typeof E820_ACPI
  | typeof E820_NVS
  | typeof E820_UNUSABLE;

/** `MB1_PAGES` (§5.1): the low 1 MiB is GFNs 0x00-0xff. */
export const MB1_PAGES = 256;
/** The model's GFN space: the low MiB and the next MiB, enough for a region straddling 1 MiB. */
export const E820_LIMIT = 0x200;

export interface E820Entry {
  readonly type: E820Type;
  /** First page. */
  readonly start: number;
  /** Number of pages (≥ 1). */
  readonly pages: number;
}

export type E820Map = readonly E820Entry[];

const NAMES: Readonly<Record<E820Type, string>> = {
  [E820_RAM]: 'ram',
  [E820_RESERVED]: 'reserved',
  [E820_ACPI]: 'acpi',
  [E820_NVS]: 'nvs',
  [E820_UNUSABLE]: 'unusable',
};
const TYPES = new Map(Object.entries(NAMES).map(([t, n]) => [n, Number(t) as E820Type]));

export function e820TypeName(t: E820Type): string {
  return NAMES[t];
}

const end = (e: E820Entry) => e.start + e.pages;

/** One entry as the parameter writes it. */
export function encodeEntry(e: E820Entry): string {
  const last = end(e) - 1;
  const range = e.pages === 1 ? e.start.toString(16) : `${e.start.toString(16)}-${last.toString(16)}`;
  return `${NAMES[e.type]}:${range}`;
}

export function encodeE820(map: E820Map): string {
  return map.map(encodeEntry).join(',');
}

/**
 * Parses the parameter. A bad entry is a usage error naming it: its position, its text
 * and what is wrong with it.
 */
export function parseE820(text: string): E820Map {
  const out: E820Entry[] = [];
  if (text.trim() === '') return out;
  text.split(',').forEach((raw, i) => {
    const item = raw.trim();
    const bad = (why: string) => new UsageError(`--param e820: entry ${i + 1} '${item}': ${why}`);
    const m = /^([a-z]+):([0-9a-fA-F]+)(?:-([0-9a-fA-F]+))?$/.exec(item);
    if (!m) throw bad('expected type:first-last with hex page numbers, e.g. ram:0-9e');
    const type = TYPES.get(m[1]);
    if (type === undefined) throw bad(`unknown type '${m[1]}' (one of ${[...TYPES.keys()].join(', ')})`);
    const start = Number.parseInt(m[2], 16);
    const last = m[3] === undefined ? start : Number.parseInt(m[3], 16);
    if (last < start) throw bad(`last page 0x${last.toString(16)} is below the first`);
    if (last >= E820_LIMIT)
      throw bad(
        `page 0x${last.toString(16)} is beyond the model's GFN space (below 0x${E820_LIMIT.toString(16)})`,
      );
    const prev = out.at(-1);
    if (prev && start < end(prev))
      throw bad(
        `overlaps or precedes entry ${i} '${encodeEntry(prev)}' (entries must be sorted and disjoint)`,
      );
    out.push({ type, start, pages: last - start + 1 });
  });
  return out;
}

/** The entry covering `pfn`, if any. */
export function e820TypeOf(map: E820Map, pfn: number): E820Type | undefined {
  return map.find((e) => pfn >= e.start && pfn < end(e))?.type;
}

/** Every page of the entries of one type, in order. */
export function pagesOf(map: E820Map, type: E820Type): number[] {
  return map
    .filter((e) => e.type === type)
    .flatMap((e) => Array.from({ length: e.pages }, (_, k) => e.start + k));
}

/**
 * The default map reproduces the bug of §5.3: RAM and reserved regions (EBDA, option
 * ROMs, BIOS) below 1 MiB, ACPI tables and NVS below 1 MiB, a VGA hole, and an ACPI region
 * straddling 1 MiB, then RAM.
 */
export const DEFAULT_E820 =
  'ram:0-9e,reserved:9f,reserved:c0-cf,acpi:e0-e3,nvs:e4-e7,reserved:e8-fd,acpi:fe-101,ram:102-10f';
