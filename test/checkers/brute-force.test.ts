/**
 * Every checker against brute force: for each small program (programs.ts), the verdicts
 * of every interleaving (`allSchedules`) are the verdicts exhaustive DPOR reaches, and the
 * verdict `check()` reports under DPOR is one of them. A checker whose verdict depended on
 * the order of independent steps would break this: DPOR runs one order per class.
 */
import { describe, expect, it } from 'vitest';
import { check } from '../../src/explore/check-targets.ts';
import { runExecution } from '../../src/explore/run-execution.ts';
import type { ScenarioInstance } from '../../src/scenario/instance.ts';
import { DporStrategy } from '../../src/strategies/dpor.ts';
import { allSchedules } from '../fixtures/engine.ts';
import { ALL } from './programs.ts';

const verdicts = (bugs: readonly ({ kind: string } | undefined)[]) =>
  [...new Set(bugs.map((b) => b?.kind ?? 'pass'))].sort();

function dporVerdicts(inst: ScenarioInstance): string[] {
  const s = new DporStrategy();
  const bugs: ({ kind: string } | undefined)[] = [];
  let n = 0;
  while (s.begin()) {
    const r = runExecution(inst, s, n++);
    if (!r.blocked) bugs.push(r.bug);
  }
  expect(s.exhausted).toBe(true);
  return verdicts(bugs);
}

describe('checkers: exhaustive DPOR against every interleaving', () => {
  for (const p of ALL) {
    it(`${p.name}: ${p.kinds.join(' or ')}`, async () => {
      const inst = p.make();
      const brute = verdicts(allSchedules(inst).map((r) => r.bug));
      expect(brute).toEqual([...p.kinds].sort());
      expect(dporVerdicts(inst)).toEqual(brute);
      const report = await check(inst.scenario, { strategy: 'dpor', workers: 1, traceDir: null });
      const r = report.results[0];
      expect(r.exhaustive || r.verdict === 'bug').toBe(true);
      expect(brute).toContain(r.verdict === 'bug' ? r.kind : 'pass');
      if (!brute.includes('pass')) expect(r.verdict).toBe('bug');
      if (brute.length === 1 && brute[0] === 'pass') expect(r.verdict).toBe('pass');
    });
  }
});
