import { describe, expect, it } from 'vitest';
import { runCounted } from '../fixtures/engine.ts';
import * as P from './programs.ts';

describe('deadlock checker', () => {
  it('names a 2-cycle and the steps that took the held locks', () => {
    const { result } = runCounted(P.abba.make(), ['a', 'b']);
    expect(result.bug).toMatchObject({
      kind: 'deadlock',
      message: 'deadlock: a holds A and waits for B (held by b); b holds B and waits for A (held by a)',
      steps: [1, 2],
    });
  });

  it('names a 3-cycle', () => {
    const { result } = runCounted(P.threeCycle.make(), ['c', 'b', 'a']);
    expect(result.bug).toMatchObject({
      kind: 'deadlock',
      message:
        'deadlock: a holds A and waits for B (held by b); b holds B and waits for C (held by c); c holds C and waits for A (held by a)',
      steps: [3, 2, 1],
    });
  });

  it('lists a wait without a cycle as before', () => {
    const { result } = runCounted(P.orphanedLock.make(), ['holder']);
    expect(result.bug?.message).toBe('deadlock: waiter waits for L (exclusive) held by holder');
    expect(result.bug?.steps).toBeUndefined();
  });
});
