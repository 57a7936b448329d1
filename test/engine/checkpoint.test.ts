import { describe, expect, it } from 'vitest';
import mmioSplit from '../../scenarios/mmio-split.ts';
import { runExecution } from '../../src/explore/run-execution.ts';
import type { Checkpoint } from '../../src/runtime/execution.ts';
import { instantiate } from '../../src/scenario/instance.ts';
import { RandomStrategy } from '../../src/strategies/random.ts';
import { ReplayStrategy } from '../../src/strategies/replay.ts';
import type { Strategy } from '../../src/strategies/strategy.ts';
import { abba, lastzero, twoSenders } from '../fixtures/corpus.ts';

/** Random, with state hashing on, so that resumed runs are compared state by state too. */
class HashingRandom extends RandomStrategy {
  readonly hashesStates = true;
}

const cases = [
  ['mmio-split:fixed', () => instantiate(mmioSplit, 'fixed')],
  ['mmio-split:no-cache', () => instantiate(mmioSplit, 'no-cache')],
  ['abba', () => abba.make()],
  ['lastzero(3)', () => lastzero(3).make()],
  ['two-senders', () => twoSenders.make()],
] as const;

describe('checkpoints', () => {
  for (const [name, make] of cases) {
    it(`resuming ${name} from any step gives the same trace, states and outcome as running it whole`, () => {
      const inst = make();
      for (let seed = 0; seed < 4; seed++) {
        const s: Strategy = new HashingRandom(seed);
        s.begin(0);
        const checkpoints: Checkpoint[] = [];
        const whole = runExecution(inst, s, 0, { checkpoints });
        // One after the start and one after each step, but none after a step that broke an invariant.
        expect(checkpoints.length).toBe(
          whole.bug && whole.bug.kind !== 'deadlock' ? whole.steps : whole.steps + 1,
        );
        for (let k = 0; k < checkpoints.length; k += Math.max(1, Math.floor(checkpoints.length / 7))) {
          const replay = new (class extends ReplayStrategy {
            readonly hashesStates = true;
          })(whole.moves);
          replay.begin();
          const resumed = runExecution(inst, replay, 0, {
            resume: { checkpoint: checkpoints[k], moves: whole.moves.slice(0, k) },
          });
          expect(resumed.moves).toEqual(whole.moves);
          expect(resumed.traceHash).toBe(whole.traceHash);
          expect(resumed.stepHashes).toEqual(whole.stepHashes);
          expect(resumed.states).toEqual(whole.states);
          expect(resumed.bug).toEqual(whole.bug);
        }
      }
    });
  }

  it('is not disturbed by the run it came from going on, or by resuming twice', () => {
    const inst = instantiate(mmioSplit, 'fixed');
    const s = new HashingRandom(1);
    s.begin(0);
    const checkpoints: Checkpoint[] = [];
    const whole = runExecution(inst, s, 0, { checkpoints });
    const k = Math.floor(whole.steps / 2);
    const again = () => {
      const r = new ReplayStrategy(whole.moves);
      r.begin();
      return runExecution(inst, r, 0, {
        resume: { checkpoint: checkpoints[k], moves: whole.moves.slice(0, k) },
      });
    };
    expect(again().traceHash).toBe(whole.traceHash);
    expect(again().traceHash).toBe(whole.traceHash);
  });
});
