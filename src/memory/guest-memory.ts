import type { AccessResult, Bytes, MemoryFault } from '../model/operation.ts';
import { PAGE_SIZE } from './atomic-units.ts';

/**
 * Guest memory: byte-addressed 4 KiB pages, each with a p2m-like type (DESIGN §1).
 * - `ram` / `ram-ro`: ordinary guest RAM, read-write or read-only;
 * - `mmio`: emulated MMIO (p2m_mmio_dm). Memory accesses fault with `mmio`; a device model
 *   serves them through ioreqs;
 * - `mmio-direct` / `mmio-direct-ro`: pass-through device memory, accessed like RAM;
 * - `unmapped`: declared, but with no mapping: accesses fault as the hardware would.
 * An address outside every declared region is a modelling error, not a fault.
 */
export type PageType = 'ram' | 'ram-ro' | 'mmio' | 'mmio-direct' | 'mmio-direct-ro' | 'unmapped';
export const PAGE_TYPES: readonly PageType[] = [
  'ram',
  'ram-ro',
  'mmio',
  'mmio-direct',
  'mmio-direct-ro',
  'unmapped',
];

export interface RegionSpec {
  readonly name: string;
  /** Guest physical address of the first byte; page aligned. */
  readonly base: number;
  /** Number of 4 KiB pages. */
  readonly pages: number;
  readonly type: PageType;
  /** Initial contents: bytes from `base` on, or a function of the offset into the region. */
  readonly init?: Bytes | ((offset: number) => number);
}

interface Page {
  readonly type: PageType;
  readonly region: string;
  /** The page's bytes; shared with the image until the first write (copy on write). */
  bytes: Uint8Array;
  owned: boolean;
}

/** The fault an access to a page of type `t` raises, or undefined if it goes to memory. */
export function pageFault(t: PageType, kind: 'read' | 'write'): MemoryFault | undefined {
  if (t === 'unmapped') return 'unmapped';
  if (t === 'mmio') return 'mmio';
  if (kind === 'write' && (t === 'ram-ro' || t === 'mmio-direct-ro')) return 'read-only';
  return undefined;
}

export class OutOfBoundsError extends Error {
  constructor(readonly addr: number) {
    super(`address 0x${addr.toString(16)} is outside the guest memory the scenario declares`);
  }
}

/**
 * The declared layout and initial contents, built once per scenario instance. Every
 * execution starts a GuestMemory from it and copies a page only when it first writes it.
 */
export class MemoryImage {
  readonly pages = new Map<
    number,
    { readonly type: PageType; readonly region: string; readonly bytes: Uint8Array }
  >();

  constructor(readonly regions: readonly RegionSpec[]) {
    for (const r of regions) {
      if (r.base % PAGE_SIZE !== 0)
        throw new Error(`memory region '${r.name}': base 0x${r.base.toString(16)} is not page aligned`);
      if (!Number.isInteger(r.pages) || r.pages < 1)
        throw new Error(`memory region '${r.name}': pages must be a positive integer`);
      if (!PAGE_TYPES.includes(r.type))
        throw new Error(`memory region '${r.name}': unknown page type '${r.type}'`);
      for (let i = 0; i < r.pages; i++) {
        const pfn = r.base / PAGE_SIZE + i;
        if (this.pages.has(pfn))
          throw new Error(`memory region '${r.name}' overlaps region '${this.pages.get(pfn)!.region}'`);
        const bytes = new Uint8Array(PAGE_SIZE);
        if (r.init) {
          for (let j = 0; j < PAGE_SIZE; j++) {
            const off = i * PAGE_SIZE + j;
            bytes[j] = typeof r.init === 'function' ? r.init(off) & 0xff : (r.init[off] ?? 0);
          }
        }
        this.pages.set(pfn, { type: r.type, region: r.name, bytes });
      }
    }
  }
}

export class GuestMemory {
  private readonly pages = new Map<number, Page>();
  /**
   * Every byte written since the image, as (address, value) pairs: append-only, so a
   * checkpoint is just a length, and resuming replays the log up to it.
   */
  readonly log: number[] = [];

  constructor(
    image: MemoryImage | readonly RegionSpec[],
    replay?: { log: readonly number[]; length: number },
  ) {
    const img = image instanceof MemoryImage ? image : new MemoryImage(image);
    for (const [pfn, p] of img.pages)
      this.pages.set(pfn, { type: p.type, region: p.region, bytes: p.bytes, owned: false });
    if (replay) for (let i = 0; i < replay.length; i += 2) this.poke(replay.log[i], [replay.log[i + 1]]);
  }

  private page(addr: number): Page {
    const p = this.pages.get(Math.floor(addr / PAGE_SIZE));
    if (!p) throw new OutOfBoundsError(addr);
    return p;
  }

  /** The page type at `addr`; throws OutOfBoundsError outside the declared memory. */
  pageType(addr: number): PageType {
    return this.page(addr).type;
  }

  regionOf(addr: number): string {
    return this.page(addr).region;
  }

  isDeclared(addr: number): boolean {
    return this.pages.has(Math.floor(addr / PAGE_SIZE));
  }

  /** The fault a read or write of one unit raises, or undefined if it goes to memory. */
  fault(addr: number, kind: 'read' | 'write'): MemoryFault | undefined {
    return pageFault(this.pageType(addr), kind);
  }

  /** Raw bytes, ignoring page types (for checkers and reporters). */
  peek(addr: number, width: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < width; i++) {
      const a = addr + i;
      out.push(this.page(a).bytes[a % PAGE_SIZE]);
    }
    return out;
  }

  /**
   * A hash of how the contents differ from the initial image, kept up to date by every
   * write (a sum of one term per byte, as Zobrist hashing does): equal contents, equal hash.
   */
  contentHash = 0;

  /** Writes raw bytes, ignoring page types. */
  poke(addr: number, bytes: Bytes): void {
    for (let i = 0; i < bytes.length; i++) {
      const a = addr + i;
      const p = this.page(a);
      if (!p.owned) {
        p.bytes = p.bytes.slice();
        p.owned = true;
      }
      const o = a % PAGE_SIZE;
      const v = bytes[i] & 0xff;
      this.contentHash = (this.contentHash - byteTerm(a, p.bytes[o]) + byteTerm(a, v)) | 0;
      p.bytes[o] = v;
      this.log.push(a, v);
    }
  }

  /** A unit read as the guest sees it. */
  readUnit(addr: number, width: number): AccessResult {
    const fault = this.fault(addr, 'read');
    if (fault) return { ok: false, fault, addr };
    return { ok: true, bytes: this.peek(addr, width) };
  }

  writeUnit(addr: number, bytes: Bytes): AccessResult {
    const fault = this.fault(addr, 'write');
    if (fault) return { ok: false, fault, addr };
    this.poke(addr, bytes);
    return { ok: true, bytes };
  }
}

function byteTerm(addr: number, value: number): number {
  let z = Math.imul(addr ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(value + 1, 0xc2b2ae35);
  z = Math.imul(z ^ (z >>> 16), 0x7feb352d);
  return z ^ (z >>> 15);
}

/** Little-endian bytes to an unsigned integer. */
export function leToBigInt(bytes: Bytes): bigint {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i] & 0xff);
  return v;
}

export function leToNumber(bytes: Bytes): number {
  return Number(leToBigInt(bytes));
}

/** An unsigned integer to `width` little-endian bytes. */
export function toLe(value: bigint | number, width: number): number[] {
  let v = BigInt(value);
  const out: number[] = [];
  for (let i = 0; i < width; i++) {
    out.push(Number(v & 0xffn));
    v >>= 8n;
  }
  return out;
}
