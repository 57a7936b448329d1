import { describe, expect, it } from 'vitest';
import { runExecution } from '../../src/explore/run-execution.ts';
import { sameBug } from '../../src/explore/shrink.ts';
import type { Checkpoint } from '../../src/runtime/execution.ts';
import { allSchedules, runCounted } from '../fixtures/engine.ts';
import * as P from './programs.ts';

const bugs = (p: P.Program) => allSchedules(p.make()).map((r) => r.bug);

describe('race detector', () => {
  it('reports two plain writers, naming both accesses and their steps', () => {
    const { result } = runCounted(P.twoWriters.make(), ['w1', 'w2']);
    expect(result.bug).toMatchObject({
      kind: 'race',
      message:
        "race: w2 writes 0x1000/1 'x' (plain, step 2) and w1 writes 0x1000/1 'x' (plain, step 1), not ordered by happens-before",
      steps: [1, 2],
      actor: 'w2',
    });
  });

  it('finds no race in a lock-protected program, a correct rwlock, a message or an atomic-flag publish', () => {
    for (const p of [P.spinlocked, P.rwlocked, P.messagePublish, P.atomicFlagPublish, P.seqlockCovered])
      expect(bugs(p), p.name).toEqual(bugs(p).map(() => undefined));
  });

  it('reports a writer that takes an rwlock shared', () => {
    expect(bugs(P.rwlockSharedWriter).every((b) => b?.kind === 'race')).toBe(true);
  });

  it('counts a split atomic flag as plain', () => {
    const all = bugs(P.splitFlagPublish);
    expect(all.every((b) => b?.kind === 'race')).toBe(true);
    expect(all[0]?.message).toContain('atomic but split, so plain');
  });

  it('reports a racy read against a seqlock write outside the flag window, and only then', () => {
    const all = bugs(P.seqlockUncovered);
    expect(all.every((b) => b?.message.includes("outside the flag of seqlock 'area'"))).toBe(true);
  });

  it('compares races by their accesses, not their steps or order (sameBug)', () => {
    const [a, b] = allSchedules(P.twoWriters.make()).map((r) => r.bug!);
    expect(a.message).not.toBe(b.message);
    expect(sameBug(a, b)).toBe(true);
    expect(sameBug(a, { ...a, key: 'w1 writes 0x1001/1' })).toBe(false);
  });

  it('resumes from one checkpoint twice, independently, to the verdicts of fresh runs', () => {
    const inst = P.rwlockSharedWriter.make();
    const fresh = allSchedules(inst);
    const cps: Checkpoint[] = [];
    const first = fresh[0];
    const s = { name: 'replay', exhausted: false, begin: () => true, end: () => {} };
    const follow = (moves: readonly string[]) => ({
      ...s,
      pick: (enabled: readonly { actor: string; kind: 'op' | 'deliver' }[], step: number) =>
        enabled.find((m) => m.actor === moves[step]),
    });
    runExecution(inst, follow(first.moves), 0, { checkpoints: cps });
    for (const r of fresh) {
      // Resume every schedule that shares the first step with the first one.
      if (r.moves[0] !== first.moves[0]) continue;
      const again = runExecution(inst, follow(r.moves), 0, {
        resume: { checkpoint: cps[1], moves: r.moves.slice(0, 1) },
      });
      expect(again.bug?.message).toBe(r.bug?.message);
    }
  });
});
