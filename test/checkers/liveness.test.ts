import { describe, expect, it } from 'vitest';
import { defineScenario } from '../../src/scenario/define-scenario.ts';
import { instantiate } from '../../src/scenario/instance.ts';
import { allSchedules, oneShot, thrown } from '../fixtures/engine.ts';
import * as P from './programs.ts';

describe('liveness: hot steps', () => {
  it('reports an actor that stays hot past bounds.hotSteps of its own steps', () => {
    const [r] = allSchedules(P.spinsTooLong.make());
    expect(r.bug).toMatchObject({
      kind: 'liveness',
      message: "liveness: spinner stayed hot in 'retry' past 5 steps (hot since step 1)",
      steps: [1, 6],
    });
  });

  it('counts the actor’s own steps: one that leaves after exactly hotSteps passes in every interleaving', () => {
    const runs = allSchedules(P.leavesInTime.make());
    expect(runs.length).toBeGreaterThan(1);
    expect(runs.map((r) => r.bug)).toEqual(runs.map(() => undefined));
  });

  it('rejects a hotSteps bound that is not a positive integer', () => {
    for (const hotSteps of [0, -1, 1.5, Number.NaN]) {
      const s = defineScenario({
        name: 'bad-bound',
        description: 'x',
        memory: () => [],
        actors: () => ({ a: { machine: oneShot([]) } }),
        bounds: { hotSteps },
        variants: { main: { description: 'x' } },
      });
      const e = thrown(() => instantiate(s, 'main'));
      expect(e.message).toMatch(/bounds.hotSteps must be a positive integer/);
    }
  });
});
