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
      const got = r.verdict === 'bug' ? r.kind : 'pass';
      // An inversion only the graph across executions closes: no interleaving shows it alone.
      if (p.across) expect(got).toBe(p.across);
      else expect(brute).toContain(got);
      if (!brute.includes('pass')) expect(r.verdict).toBe('bug');
      if (brute.length === 1 && brute[0] === 'pass' && !p.across) expect(r.verdict).toBe('pass');
    });
  }
});

/** A blocking acquisition made while holding other locks, read off a recorded step. */
interface Order {
  readonly actor: string;
  readonly from: string;
  readonly fromMode: string;
  readonly to: string;
  readonly toMode: string;
  readonly held: ReadonlyMap<string, string>;
}

/** Every order any interleaving records, from its step records alone (no checker code). */
function ordersOfEveryInterleaving(inst: ScenarioInstance): Order[] {
  const seen = new Map<string, Order>();
  for (const r of allSchedules(inst, { record: true })) {
    const held = new Map<string, Map<string, string>>();
    for (const rec of r.records) {
      const mine = held.get(rec.actor) ?? new Map<string, string>();
      held.set(rec.actor, mine);
      const take = /^(acquire|tryAcquire) (\S+) \((\w+)\) → (granted|taken)$/.exec(rec.what);
      const release = /^release (\S+)$/.exec(rec.what);
      if (take) {
        const [, how, lock, mode] = take;
        if (how === 'acquire') {
          for (const [from, fromMode] of mine) {
            const o = { actor: rec.actor, from, fromMode, to: lock, toMode: mode, held: new Map(mine) };
            seen.set(JSON.stringify([o.actor, from, fromMode, lock, mode, [...mine].sort()]), o);
          }
        }
        mine.set(lock, mode);
      } else if (release) mine.delete(release[1]);
    }
  }
  return [...seen.values()];
}

const exclusive = (a: string, b: string) => a === 'exclusive' || b === 'exclusive';

/** Is there a cycle of orders by different actors, each wait blocking, and no gate lock? */
function hasBlockingCycle(orders: readonly Order[]): boolean {
  const gated = (path: readonly Order[]) =>
    path.some((p, i) =>
      path
        .slice(i + 1)
        .some((q) => [...p.held].some(([l, m]) => q.held.has(l) && exclusive(m, q.held.get(l)!))),
    );
  const extend = (path: Order[]): boolean => {
    const first = path[0];
    const last = path[path.length - 1];
    if (path.length > 1 && last.to === first.from)
      return exclusive(last.toMode, first.fromMode) && !gated(path);
    for (const o of orders) {
      if (o.from !== last.to || !exclusive(last.toMode, o.fromMode)) continue;
      if (path.some((p) => p.actor === o.actor || p.to === o.to)) continue;
      if (extend([...path, o])) return true;
    }
    return false;
  };
  return orders.some((o) => extend([o]));
}

describe('lock-order across executions: exhaustive check against the orders of every interleaving', () => {
  const lockPrograms = ALL.filter(
    (p) => p.kinds.includes('lock-order') || p.across || /cycle|order|inversion|chosen/.test(p.name),
  );
  for (const p of lockPrograms) {
    it(`${p.name}`, async () => {
      const only = { race: false, deadlock: false, liveness: false };
      const inst = p.make(only);
      const brute = hasBlockingCycle(ordersOfEveryInterleaving(inst)) ? 'lock-order' : 'pass';
      const report = await check(inst.scenario, {
        strategy: 'dpor',
        workers: 1,
        traceDir: null,
        checkers: only,
      });
      const r = report.results[0];
      expect(r.verdict === 'bug' ? r.kind : 'pass').toBe(brute);
      if (p.across) expect(brute).toBe(p.across);
    });
  }
});
