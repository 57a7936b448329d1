import { describe, expect, it } from 'vitest';
import { atomicUnits, CACHE_LINE, isAtomic, PAGE_SIZE } from '../../src/memory/atomic-units.ts';

const pieces = (addr: number, width: number) =>
  atomicUnits(addr, width).map((u) => [u.addr, u.width, u.offset]);

describe('atomicUnits', () => {
  it('keeps a naturally aligned access of 1, 2, 4 or 8 bytes as one unit', () => {
    for (const w of [1, 2, 4, 8]) {
      for (const addr of [0, w, 0x1000, 0x1ff8 + (8 - w), 0x2040 - w]) {
        expect(pieces(addr, w)).toEqual([[addr, w, 0]]);
      }
    }
  });

  it('splits an 8-byte access straddling a page into two 4-byte units, low address first', () => {
    expect(pieces(0x1ffc, 8)).toEqual([
      [0x1ffc, 4, 0],
      [0x2000, 4, 4],
    ]);
  });

  it('splits an 8-byte access at 0x1003 into 1, 4, 2, 1', () => {
    expect(pieces(0x1003, 8)).toEqual([
      [0x1003, 1, 0],
      [0x1004, 4, 1],
      [0x1008, 2, 5],
      [0x100a, 1, 7],
    ]);
  });

  it('splits other unaligned and odd-sized accesses by hand-computed pieces', () => {
    // 2 bytes at an odd address: two single bytes.
    expect(pieces(0x1001, 2)).toEqual([
      [0x1001, 1, 0],
      [0x1002, 1, 1],
    ]);
    // 4 bytes at 2 mod 4: two halves.
    expect(pieces(0x1006, 4)).toEqual([
      [0x1006, 2, 0],
      [0x1008, 2, 2],
    ]);
    // 3 bytes aligned: 2 + 1.
    expect(pieces(0x1000, 3)).toEqual([
      [0x1000, 2, 0],
      [0x1002, 1, 2],
    ]);
    // 16 bytes aligned: two 8-byte units (nothing wider than 8 is atomic).
    expect(pieces(0x1000, 16)).toEqual([
      [0x1000, 8, 0],
      [0x1008, 8, 8],
    ]);
    // 8 bytes crossing a cache line at 0x1040.
    expect(pieces(0x103e, 8)).toEqual([
      [0x103e, 2, 0],
      [0x1040, 4, 2],
      [0x1044, 2, 6],
    ]);
    // 8 bytes at 4 mod 8 inside a line: still split (not naturally aligned for 8).
    expect(pieces(0x1004, 8)).toEqual([
      [0x1004, 4, 0],
      [0x1008, 4, 4],
    ]);
  });

  it('gives no unit for an empty access', () => {
    expect(atomicUnits(0x1000, 0)).toEqual([]);
  });

  it('covers [addr, addr+width) exactly with aligned units that never cross a line or page', () => {
    // Plain checks collected into one list: 2 x 131 x 16 accesses with one expect each would be slow.
    const problems: string[] = [];
    const bases = [0, PAGE_SIZE - 70]; // the second makes some accesses cross the page at 4096
    let checked = 0;
    for (const base of bases) {
      for (let a = 0; a <= 130; a++) {
        const addr = base + a;
        for (let width = 1; width <= 16; width++) {
          const units = atomicUnits(addr, width);
          const at = `${addr}/${width}`;
          let cur = addr;
          for (const u of units) {
            checked++;
            if (u.addr !== cur) problems.push(`${at}: unit at ${u.addr}, expected ${cur} (not contiguous)`);
            if (u.offset !== u.addr - addr) problems.push(`${at}: unit ${u.addr} has offset ${u.offset}`);
            if (![1, 2, 4, 8].includes(u.width)) problems.push(`${at}: unit width ${u.width}`);
            if (u.addr % u.width !== 0) problems.push(`${at}: unit ${u.addr}/${u.width} not aligned`);
            if (Math.floor(u.addr / CACHE_LINE) !== Math.floor((u.addr + u.width - 1) / CACHE_LINE))
              problems.push(`${at}: unit ${u.addr}/${u.width} crosses a cache line`);
            if (Math.floor(u.addr / PAGE_SIZE) !== Math.floor((u.addr + u.width - 1) / PAGE_SIZE))
              problems.push(`${at}: unit ${u.addr}/${u.width} crosses a page`);
            if (!isAtomic(u.addr, u.width)) problems.push(`${at}: unit ${u.addr}/${u.width} is not atomic`);
            cur += u.width;
          }
          if (cur !== addr + width) problems.push(`${at}: units end at ${cur}`);
          // One unit exactly when the access itself is single-copy atomic.
          if ((units.length === 1) !== isAtomic(addr, width))
            problems.push(`${at}: ${units.length} units but isAtomic=${isAtomic(addr, width)}`);
        }
      }
    }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThan(2 * 131 * 16);
  });
});

describe('isAtomic', () => {
  it('is true only for naturally aligned 1, 2, 4 and 8 byte accesses', () => {
    expect(isAtomic(0x1000, 1)).toBe(true);
    expect(isAtomic(0x1001, 1)).toBe(true);
    expect(isAtomic(0x1002, 2)).toBe(true);
    expect(isAtomic(0x1001, 2)).toBe(false);
    expect(isAtomic(0x1004, 4)).toBe(true);
    expect(isAtomic(0x1002, 4)).toBe(false);
    expect(isAtomic(0x1008, 8)).toBe(true);
    expect(isAtomic(0x1004, 8)).toBe(false);
    expect(isAtomic(0x1ffc, 8)).toBe(false);
    expect(isAtomic(0x1000, 3)).toBe(false);
    expect(isAtomic(0x1000, 16)).toBe(false);
  });
});
