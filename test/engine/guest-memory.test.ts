import { describe, expect, it } from 'vitest';
import {
  GuestMemory,
  leToBigInt,
  leToNumber,
  MemoryImage,
  OutOfBoundsError,
  type PageType,
  type RegionSpec,
  toLe,
} from '../../src/memory/guest-memory.ts';

const LAYOUT: readonly RegionSpec[] = [
  { name: 'ram', base: 0x1000, pages: 1, type: 'ram' },
  { name: 'rom', base: 0x2000, pages: 1, type: 'ram-ro' },
  { name: 'mmio', base: 0x3000, pages: 1, type: 'mmio' },
  { name: 'bar', base: 0x4000, pages: 1, type: 'mmio-direct' },
  { name: 'bar-ro', base: 0x5000, pages: 1, type: 'mmio-direct-ro' },
  { name: 'hole', base: 0x6000, pages: 1, type: 'unmapped' },
];

describe('GuestMemory page types and faults', () => {
  const mem = new GuestMemory(LAYOUT);

  it('reports the page type and region of each page', () => {
    const expected: [number, PageType, string][] = [
      [0x1fff, 'ram', 'ram'],
      [0x2000, 'ram-ro', 'rom'],
      [0x3800, 'mmio', 'mmio'],
      [0x4000, 'mmio-direct', 'bar'],
      [0x5004, 'mmio-direct-ro', 'bar-ro'],
      [0x6ffc, 'unmapped', 'hole'],
    ];
    for (const [addr, type, region] of expected) {
      expect(mem.pageType(addr)).toBe(type);
      expect(mem.regionOf(addr)).toBe(region);
    }
  });

  it('faults each page type on read and write as the hardware would', () => {
    const table: [number, string | undefined, string | undefined][] = [
      // addr, read fault, write fault
      [0x1000, undefined, undefined],
      [0x2000, undefined, 'read-only'],
      [0x3000, 'mmio', 'mmio'],
      [0x4000, undefined, undefined],
      [0x5000, undefined, 'read-only'],
      [0x6000, 'unmapped', 'unmapped'],
    ];
    for (const [addr, r, w] of table) {
      expect(mem.fault(addr, 'read'), `read 0x${addr.toString(16)}`).toBe(r);
      expect(mem.fault(addr, 'write'), `write 0x${addr.toString(16)}`).toBe(w);
    }
  });

  it('readUnit/writeUnit go to memory on RAM and return the fault elsewhere', () => {
    const m = new GuestMemory(LAYOUT);
    expect(m.writeUnit(0x1008, [1, 2, 3, 4])).toEqual({ ok: true, bytes: [1, 2, 3, 4] });
    expect(m.readUnit(0x1008, 4)).toEqual({ ok: true, bytes: [1, 2, 3, 4] });
    expect(m.writeUnit(0x2000, [9])).toEqual({ ok: false, fault: 'read-only', addr: 0x2000 });
    expect(m.peek(0x2000, 1)).toEqual([0]); // the faulting write changed nothing
    expect(m.readUnit(0x3004, 4)).toEqual({ ok: false, fault: 'mmio', addr: 0x3004 });
    expect(m.writeUnit(0x3004, [1])).toEqual({ ok: false, fault: 'mmio', addr: 0x3004 });
    expect(m.readUnit(0x6000, 1)).toEqual({ ok: false, fault: 'unmapped', addr: 0x6000 });
    expect(m.writeUnit(0x4000, [5, 6])).toEqual({ ok: true, bytes: [5, 6] });
    expect(m.readUnit(0x5000, 2)).toEqual({ ok: true, bytes: [0, 0] });
    expect(m.writeUnit(0x5000, [5, 6])).toEqual({ ok: false, fault: 'read-only', addr: 0x5000 });
  });

  it('peek and poke ignore page types', () => {
    const m = new GuestMemory(LAYOUT);
    m.poke(0x2ffe, [0xab, 0xcd]);
    m.poke(0x3000, [0x1ff]); // masked to a byte
    expect(m.peek(0x2ffe, 3)).toEqual([0xab, 0xcd, 0xff]);
  });

  it('throws OutOfBoundsError for an address outside every region', () => {
    const m = new GuestMemory(LAYOUT);
    for (const f of [
      () => m.peek(0x7000, 1),
      () => m.peek(0x6fff, 2), // starts declared, runs off the end
      () => m.poke(0x0fff, [1]),
      () => m.pageType(0x10000),
      () => m.readUnit(0x7000, 1),
      () => m.fault(0x0, 'read'),
    ]) {
      const e = (() => {
        try {
          f();
        } catch (err) {
          return err;
        }
      })();
      expect(e).toBeInstanceOf(OutOfBoundsError);
    }
    const e = new OutOfBoundsError(0x7000);
    expect(e.addr).toBe(0x7000);
    expect(e.message).toContain('0x7000');
    expect(m.isDeclared(0x6fff)).toBe(true);
    expect(m.isDeclared(0x7000)).toBe(false);
  });
});

describe('MemoryImage', () => {
  it('rejects a base that is not page aligned', () => {
    expect(() => new MemoryImage([{ name: 'odd', base: 0x1004, pages: 1, type: 'ram' }])).toThrow(
      /'odd'.*0x1004.*not page aligned/,
    );
  });

  it('rejects overlapping regions, naming both', () => {
    expect(
      () =>
        new MemoryImage([
          { name: 'low', base: 0x1000, pages: 2, type: 'ram' },
          { name: 'high', base: 0x2000, pages: 1, type: 'mmio' },
        ]),
    ).toThrow(/'high' overlaps region 'low'/);
  });

  it('rejects an unknown page type and a bad page count', () => {
    expect(
      () => new MemoryImage([{ name: 'x', base: 0x1000, pages: 1, type: 'rom' as unknown as PageType }]),
    ).toThrow(/unknown page type 'rom'/);
    expect(() => new MemoryImage([{ name: 'x', base: 0x1000, pages: 0, type: 'ram' }])).toThrow(/pages/);
    expect(() => new MemoryImage([{ name: 'x', base: 0x1000, pages: 1.5, type: 'ram' }])).toThrow(/pages/);
  });

  it('initialises from an array (rest zero) and from a function of the region offset', () => {
    const m = new GuestMemory([
      { name: 'a', base: 0x1000, pages: 1, type: 'ram', init: [1, 2, 3] },
      { name: 'f', base: 0x4000, pages: 2, type: 'ram-ro', init: (off) => off * 3 },
    ]);
    expect(m.peek(0x1000, 5)).toEqual([1, 2, 3, 0, 0]);
    expect(m.peek(0x1fff, 1)).toEqual([0]);
    expect(m.peek(0x4000, 3)).toEqual([0, 3, 6]);
    // The offset runs across the region's pages, and the value is masked to a byte.
    expect(m.peek(0x5005, 1)).toEqual([((4096 + 5) * 3) & 0xff]);
  });

  it('starts every GuestMemory from the image: a write in one is not seen by another', () => {
    const image = new MemoryImage([{ name: 'ram', base: 0x1000, pages: 1, type: 'ram', init: [7, 7] }]);
    const a = new GuestMemory(image);
    const b = new GuestMemory(image);
    a.poke(0x1000, [1]);
    expect(a.peek(0x1000, 2)).toEqual([1, 7]);
    expect(b.peek(0x1000, 2)).toEqual([7, 7]);
    expect(new GuestMemory(image).peek(0x1000, 2)).toEqual([7, 7]);
    expect(image.pages.get(1)!.bytes[0]).toBe(7);
  });
});

describe('little-endian helpers', () => {
  it('converts bytes to integers, lowest byte first', () => {
    expect(leToBigInt([0x78, 0x56, 0x34, 0x12])).toBe(0x12345678n);
    expect(leToNumber([0x34, 0x12])).toBe(0x1234);
    expect(leToBigInt([])).toBe(0n);
    expect(toLe(0x1234, 4)).toEqual([0x34, 0x12, 0, 0]);
    expect(toLe(0x123456, 2)).toEqual([0x56, 0x34]); // truncated to width
  });

  it('round-trips 8-byte values above 2^53 exactly', () => {
    for (const v of [2n ** 53n + 1n, 0xfedcba9876543210n, 2n ** 64n - 1n, 0x8000000000000001n]) {
      const bytes = toLe(v, 8);
      expect(bytes).toHaveLength(8);
      expect(bytes.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)).toBe(true);
      expect(leToBigInt(bytes)).toBe(v);
    }
    expect(toLe(0xfedcba9876543210n, 8)).toEqual([0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe]);
  });
});
