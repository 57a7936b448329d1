/**
 * The strategies against brute force: on small programs whose every schedule can be
 * enumerated, seeded random search only ever produces real schedules, reaches all of them,
 * and replay reproduces each one exactly.
 */
import { describe, expect, it } from 'vitest';
import { read, write } from '../../src/actions/index.ts';
import { replayMoves } from '../../src/explore/run-execution.ts';
import { allSchedules, oneShot, runRandom, scenarioInstance } from '../fixtures/engine.ts';

/** Two writers racing on 0x1000-0x1001 and a reader of both bytes: 4!/2! = 12 schedules. */
const racy = () =>
  scenarioInstance({
    actors: {
      a: { machine: oneShot([write(0x1000, [1]), write(0x1001, [1])], 'a') },
      b: { machine: oneShot([write(0x1000, [2])], 'b') },
      c: { machine: oneShot([read(0x1000, 2, 'x')], 'c') },
    },
    invariants: {
      // The reader must not see b's byte next to a's second byte.
      'no mix': (view) => {
        const s = view.lastStep;
        return s?.actor === 'c' && s.access?.bytes?.join() === '2,1' ? 'c read 02 01' : undefined;
      },
    },
  });

describe('random and replay against brute-force enumeration', () => {
  const brute = allSchedules(racy());
  const bruteSchedules = new Set(brute.map((r) => r.moves.join(' ')));

  it('brute force finds the 12 interleavings, 2 of them with the mixed read (a0 < {a1, b} < c)', () => {
    expect(bruteSchedules.size).toBe(12);
    expect(brute.filter((r) => r.bug).length).toBe(2);
  });

  it('random search only produces real schedules, and reaches every one of them', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 600; i++) seen.add(runRandom(racy(), 1, i).moves.join(' '));
    for (const s of seen) expect(bruteSchedules.has(s)).toBe(true);
    expect(seen.size).toBe(bruteSchedules.size);
  });

  it('random finds the bug exactly when brute force says one exists', () => {
    const randomBugs = new Set<string>();
    for (let i = 0; i < 600; i++) {
      const r = runRandom(racy(), 2, i);
      if (r.bug) randomBugs.add(r.moves.join(' '));
    }
    const bruteBugs = new Set(brute.filter((r) => r.bug).map((r) => r.moves.join(' ')));
    expect(randomBugs).toEqual(bruteBugs);
  });

  it('execution i of a seed is the same whether run alone or after the others', () => {
    const alone = runRandom(racy(), 9, 37);
    for (let i = 0; i < 37; i++) runRandom(racy(), 9, i);
    expect(runRandom(racy(), 9, 37).traceHash).toBe(alone.traceHash);
  });

  it('replay reproduces every enumerated schedule, hash for hash', () => {
    for (const r of brute) {
      const again = replayMoves(racy(), r.moves);
      expect(again.traceHash).toBe(r.traceHash);
      expect(again.bug?.message).toBe(r.bug?.message);
    }
    expect(new Set(brute.map((r) => r.traceHash)).size).toBe(12);
  });
});
