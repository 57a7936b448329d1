import { describe, expect, it } from 'vitest';
import { type LockKind, LockTable } from '../../src/runtime/locks.ts';

describe('LockTable', () => {
  it('a spinlock has one holder at a time', () => {
    const t = new LockTable({ s: 'spinlock' });
    expect(t.kind('s')).toBe('spinlock');
    expect(t.canGrant('s', 'exclusive')).toBe(true);
    t.grant('s', 'exclusive', 'a');
    expect(t.holders('s')).toEqual(['a']);
    expect(t.canGrant('s', 'exclusive')).toBe(false);
    expect(t.release('s', 'a')).toBe(true);
    expect(t.holders('s')).toEqual([]);
    expect(t.canGrant('s', 'exclusive')).toBe(true);
  });

  it('an rwlock admits many readers, and no writer while any reader holds it', () => {
    const t = new LockTable({ rw: 'rwlock' });
    t.grant('rw', 'shared', 'a');
    expect(t.canGrant('rw', 'shared')).toBe(true);
    t.grant('rw', 'shared', 'b');
    expect(t.holders('rw')).toEqual(['a', 'b']);
    expect(t.canGrant('rw', 'exclusive')).toBe(false);
    expect(t.release('rw', 'a')).toBe(true);
    expect(t.canGrant('rw', 'exclusive')).toBe(false);
    expect(t.release('rw', 'b')).toBe(true);
    expect(t.canGrant('rw', 'exclusive')).toBe(true);
  });

  it('an rwlock writer excludes readers and other writers', () => {
    const t = new LockTable({ rw: 'rwlock' });
    t.grant('rw', 'exclusive', 'w');
    expect(t.canGrant('rw', 'shared')).toBe(false);
    expect(t.canGrant('rw', 'exclusive')).toBe(false);
    expect(t.holders('rw')).toEqual(['w']);
    expect(t.release('rw', 'w')).toBe(true);
    expect(t.canGrant('rw', 'shared')).toBe(true);
  });

  it('release by an actor that holds nothing returns false and changes nothing', () => {
    const t = new LockTable({ s: 'spinlock', rw: 'rwlock' });
    expect(t.release('s', 'a')).toBe(false);
    t.grant('s', 'exclusive', 'a');
    expect(t.release('s', 'b')).toBe(false);
    expect(t.holders('s')).toEqual(['a']);
    t.grant('rw', 'shared', 'a');
    expect(t.release('rw', 'b')).toBe(false);
    expect(t.holders('rw')).toEqual(['a']);
    expect(t.release('s', 'a')).toBe(true);
    expect(t.release('s', 'a')).toBe(false); // not twice
  });

  it('a shared hold taken twice by one actor needs two releases', () => {
    const t = new LockTable({ rw: 'rwlock' });
    t.grant('rw', 'shared', 'a');
    t.grant('rw', 'shared', 'a');
    expect(t.release('rw', 'a')).toBe(true);
    expect(t.canGrant('rw', 'exclusive')).toBe(false);
    expect(t.release('rw', 'a')).toBe(true);
    expect(t.canGrant('rw', 'exclusive')).toBe(true);
  });

  it('lists its locks, and rejects unknown kinds and unknown names', () => {
    const t = new LockTable({ a: 'spinlock', b: 'rwlock' });
    expect(t.names()).toEqual(['a', 'b']);
    expect(t.has('a')).toBe(true);
    expect(t.has('c')).toBe(false);
    expect(t.kind('c')).toBeUndefined();
    expect(() => t.holders('c')).toThrow(/unknown lock 'c'/);
    expect(() => t.canGrant('c', 'exclusive')).toThrow(/unknown lock 'c'/);
    expect(() => new LockTable({ m: 'mutex' as LockKind })).toThrow(/lock 'm': unknown kind 'mutex'/);
  });
});
