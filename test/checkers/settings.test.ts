import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CheckerName, checkerSettings, parseNoCheck } from '../../src/checkers/settings.ts';
import { check } from '../../src/explore/check-targets.ts';
import { UsageError } from '../../src/model/errors.ts';
import { cli, ROOT } from '../cli/helpers.ts';
import { allSchedules, thrown } from '../fixtures/engine.ts';
import * as P from './programs.ts';

const COUNTER = join(ROOT, 'examples/counter.ts');

describe('turning checkers off', () => {
  const positives: [CheckerName, P.Program, Partial<Record<CheckerName, boolean>>][] = [
    ['race', P.twoWriters, { race: false }],
    ['race', P.seqlockUncovered, { race: false }],
    ['lock-order', P.abbaOrdered, { 'lock-order': false }],
    ['deadlock', P.orphanedLock, { deadlock: false }],
    ['deadlock', P.abba, { deadlock: false, 'lock-order': false }],
    ['liveness', P.spinsTooLong, { liveness: false }],
  ];
  for (const [name, p, off] of positives) {
    it(`${name} off: ${p.name} passes in every interleaving`, () => {
      expect(allSchedules(p.make()).some((r) => r.bug)).toBe(true);
      const runs = allSchedules(p.make(off));
      expect(runs.map((r) => r.bug)).toEqual(runs.map(() => undefined));
    });
  }

  it('parses --no-check lists, repeated, and rejects unknown names naming the valid ones', () => {
    expect(parseNoCheck(['race,lock-order', 'liveness'])).toEqual({
      race: false,
      'lock-order': false,
      liveness: false,
    });
    expect(parseNoCheck(undefined)).toBeUndefined();
    const e = thrown(() => parseNoCheck(['race,bogus']));
    expect(e).toBeInstanceOf(UsageError);
    expect(e.message).toBe(
      "--no-check: unknown checker 'bogus' (checkers: race, lock-order, deadlock, liveness)",
    );
    expect(thrown(() => checkerSettings({ nope: false } as never))).toBeInstanceOf(UsageError);
  });

  it('check(): the setting is in the report, and reaches the verdict', async () => {
    const on = await check(P.twoWriters.make().scenario, { strategy: 'dpor', traceDir: null });
    expect(on.results[0]).toMatchObject({ verdict: 'bug', kind: 'race', culprits: [1, 2] });
    const off = await check(P.twoWriters.make().scenario, {
      strategy: 'dpor',
      traceDir: null,
      checkers: { race: false },
    });
    expect(off.results[0]).toMatchObject({ verdict: 'pass', exhaustive: true });
    expect(off.results[0].checkers).toEqual({
      race: false,
      'lock-order': true,
      deadlock: true,
      liveness: true,
    });
  });

  it('CLI: an unknown checker is a usage error (exit 2)', async () => {
    const r = await cli('check', COUNTER, '--no-check', 'race,locks');
    expect(r.code).toBe(2);
    expect(r.err).toContain("unknown checker 'locks' (checkers: race, lock-order, deadlock, liveness)");
  });

  it('CLI: worker threads run with the setting (random search on 2 workers)', async () => {
    const args = ['check', `${COUNTER}:no-lock`, '--strategy', 'random', '--workers', '2', '--json'];
    const on = JSON.parse((await cli(...args)).out).results[0];
    expect(on.kind).toBe('race');
    const off = JSON.parse((await cli(...args, '--no-check', 'race')).out).results[0];
    expect(off.kind).toBe('invariant');
    expect(off.checkers.race).toBe(false);
  });

  it('a trace records the setting and replay reproduces it; an old trace replays with every checker on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vcpusim-checkers-'));
    let file: string | undefined;
    for (let seed = 0; seed < 40 && !file; seed++) {
      const f = join(dir, `t${seed}.json`);
      const r = await cli(
        'run',
        `${COUNTER}:no-lock`,
        '--seed',
        String(seed),
        '--no-check',
        'race',
        '--trace',
        f,
      );
      if (r.out.includes('invariant')) file = f;
    }
    expect(file).toBeDefined();
    const t = JSON.parse(readFileSync(file!, 'utf8'));
    expect(t.settings.checkers.race).toBe(false);
    expect((await cli('replay', file!)).code).toBe(0);
    // The same schedule with the race detector on stops at the race: the trace without
    // the setting (as written before it existed) replays with every checker on.
    delete t.settings.checkers;
    const old = join(dir, 'old.json');
    writeFileSync(old, JSON.stringify(t));
    const r = await cli('replay', old, '--json');
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out).bug.kind).toBe('race');
  });
});
