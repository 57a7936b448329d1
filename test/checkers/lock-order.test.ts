import { describe, expect, it } from 'vitest';
import { allSchedules, runCounted } from '../fixtures/engine.ts';
import * as P from './programs.ts';

describe('lock-order checker', () => {
  it('reports ABBA from an execution that did not deadlock, with both acquisition paths', () => {
    const { result } = runCounted(P.abba.make(), ['a', 'a', 'a', 'a', 'b', 'b']);
    expect(result.bug).toMatchObject({
      kind: 'lock-order',
      message:
        'lock-order inversion: a took A (exclusive, step 1) then B (exclusive, step 2); b took B (exclusive, step 5) then A (exclusive, step 6)',
      steps: [1, 2, 5, 6],
    });
  });

  it('reports an inversion whose paths a message orders (it never deadlocks)', () => {
    const runs = allSchedules(P.abbaOrdered.make());
    expect(runs.every((r) => r.bug?.kind === 'lock-order')).toBe(true);
  });

  it('names every path of a three-lock cycle', () => {
    const r = runCounted(P.threeCycle.make(), ['a', 'a', 'a', 'a', 'b', 'b', 'b', 'b', 'c', 'c']).result;
    expect(r.bug?.kind).toBe('lock-order');
    expect(r.bug?.message).toMatch(
      /^lock-order inversion: a took A .* then B .*; b took B .* then C .*; c took C .* then A/,
    );
  });

  it('does not report a consistent order, shared-shared cycles, trylock inversions or gated paths', () => {
    for (const p of [P.consistentOrder, P.sharedCycle, P.trylockInversion, P.gatedInversion])
      expect(
        allSchedules(p.make())
          .filter((r) => r.bug)
          .map((r) => r.bug?.message),
        p.name,
      ).toEqual([]);
  });
});
