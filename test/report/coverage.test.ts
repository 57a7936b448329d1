/**
 * Transition coverage (`check --coverage`): the transitions exhaustive DPOR's executions
 * take are exactly those some interleaving takes (brute force); the figures do not depend
 * on the number of workers; and `diagram --coverage` marks the ones no schedule took.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { check } from '../../src/explore/check-targets.ts';
import { transitionIds } from '../../src/runtime/transition-ids.ts';
import { instantiate, type ScenarioInstance, withCoverage } from '../../src/scenario/instance.ts';
import * as P from '../checkers/programs.ts';
import { binIn, cli, timeless } from '../cli/helpers.ts';
import { allSchedules } from '../fixtures/engine.ts';
import lockPaths from '../fixtures/lock-paths.ts';

const LOCK_PATHS = new URL('../fixtures/lock-paths.ts', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'vcpusim-coverage-'));

/** Per actor, the transitions some interleaving takes. */
function bruteCoverage(inst: ScenarioInstance): Record<string, string[]> {
  const taken = new Set(allSchedules(withCoverage(inst)).flatMap((r) => r.covered));
  return Object.fromEntries(
    inst.actors.map((a) => [
      a.name,
      [...new Set(transitionIds(a.machine).values())].filter((t) => taken.has(t)).sort(),
    ]),
  );
}

describe('coverage', () => {
  const cases: [string, ScenarioInstance][] = [
    ['lock-paths:consistent', instantiate(lockPaths, 'consistent', { rounds: 1 })],
    ...[P.consistentChosen, P.gatedChosen, P.consistentOrder, P.trylockInversion, P.leavesInTime].map(
      (p): [string, ScenarioInstance] => [p.name, p.make()],
    ),
  ];
  for (const [name, inst] of cases) {
    it(`${name}: exhaustive DPOR takes exactly the transitions some interleaving takes`, async () => {
      const brute = bruteCoverage(inst);
      const report = await check(inst.scenario, {
        strategy: 'dpor',
        workers: 1,
        traceDir: null,
        coverage: true,
        variants: [inst.variant],
        params: inst.params,
        checkers: inst.checkers,
      });
      const r = report.results[0];
      expect(r.verdict).toBe('pass');
      expect(r.exhaustive).toBe(true);
      for (const a of inst.actors) {
        const all = [...new Set(transitionIds(a.machine).values())];
        const c = r.coverage![a.name];
        expect(c.transitions).toBe(all.length);
        expect(all.filter((t) => !c.untaken.includes(t)).sort(), a.name).toEqual(brute[a.name]);
        expect(c.taken).toBe(brute[a.name].length);
      }
    });
  }

  it('a transition no interleaving takes is reported untaken (trylock never fails alone)', async () => {
    const inst = P.trylockInversion.make();
    const report = await check(inst.scenario, {
      strategy: 'dpor',
      workers: 1,
      traceDir: null,
      coverage: true,
    });
    // With b alone first, its trylock always succeeds in some run and fails in another: both taken.
    expect(report.results[0].coverage!.b.untaken).toEqual([]);
    const one = await check(lockPaths, {
      strategy: 'dpor',
      workers: 1,
      traceDir: null,
      coverage: true,
      variants: ['consistent'],
      params: { rounds: 1 },
    });
    // noise with one round never loops back to its round state.
    expect(one.results[0].coverage!.n1.untaken).toEqual(['noise.round#ops.done#0']);
  });

  it('is the same on 1 and 2 workers, and diagram --coverage marks exactly the untaken transitions', async () => {
    const args = [
      'check',
      `${LOCK_PATHS}:consistent`,
      '--param',
      'rounds=1',
      '--json',
      '--coverage',
      '--strategy',
      'dpor',
    ];
    const [one, two] = await Promise.all([
      binIn(dir, ...args, '--workers', '1'),
      binIn(dir, ...args, '--workers', '2'),
    ]);
    const a = timeless(one);
    expect(timeless(two)).toEqual(a);
    const file = join(dir, 'coverage.json');
    writeFileSync(file, one.out);
    const coverage = a.results[0].coverage!;
    for (const actor of ['a', 'b', 'n1']) {
      const d = await cli(
        'diagram',
        `${LOCK_PATHS}:consistent`,
        '--actor',
        actor,
        '--coverage',
        file,
        '--param',
        'rounds=1',
      );
      expect(d.code).toBe(0);
      expect((d.out.match(/\(not taken\)/g) ?? []).length, actor).toBe(coverage[actor].untaken.length);
    }
    const text = await cli(
      'check',
      `${LOCK_PATHS}:consistent`,
      '--param',
      'rounds=1',
      '--coverage',
      '--workers',
      '1',
    );
    expect(text.out).toMatch(/transitions taken: a 4\/4, b 2\/2, n1 1\/2, n2 1\/2/);
  });

  it('diagram --coverage names a report without coverage for the variant', async () => {
    const file = join(dir, 'plain.json');
    writeFileSync(file, (await cli('check', `${LOCK_PATHS}:consistent`, '--json', '--workers', '1')).out);
    const d = await cli('diagram', `${LOCK_PATHS}:consistent`, '--coverage', file);
    expect(d.code).toBe(2);
    expect(d.err).toContain(`--coverage ${file}: no coverage for lock-paths:consistent in it`);
  });
});
