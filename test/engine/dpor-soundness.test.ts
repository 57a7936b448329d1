/**
 * DPOR against brute force. For every program of the corpus (test/fixtures/corpus.ts),
 * `allSchedules` runs every interleaving and names its Mazurkiewicz class (its Foata
 * normal form, src/explore/trace-class.ts); DporStrategy, run to exhaustion, must reach
 * every one of those classes, run each once (sleep sets), and waste little on executions
 * abandoned because every enabled move sleeps.
 *
 * Classes of both sides are computed from footprints recorded with the invariants' reads
 * tracked (what DPOR sees): a tracked invariant's reads make a step dependent on what
 * they read, so without them brute force would merge classes DPOR must keep apart.
 *
 * Executions that stop at an invariant or assertion bug are prefixes, and their classes
 * cannot be compared: one class of complete executions may be cut at different points
 * depending on which broken check comes first in an interleaving, and once DPOR's
 * execution stops it does not analyse the races of the steps it did not take (in
 * `both-in`, brute force has the complete run q q p p, while DPOR stops at the bug of
 * p q and q p and never runs the other order). What stopping at the first bug promises is
 * that a bug is found when one exists. So on those programs the test asks that DPOR finds
 * every bug (kind and invariant, or message) brute force finds, and that every class it
 * runs is one brute force also has; exact equality of class sets is asked of the others.
 * A deadlock or liveness bug is seen at the end of a complete execution and cuts nothing.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { type ExecutionResult, runExecution } from '../../src/explore/run-execution.ts';
import { traceClassKey } from '../../src/explore/trace-class.ts';
import type { Bug } from '../../src/runtime/step.ts';
import type { ScenarioInstance } from '../../src/scenario/instance.ts';
import { DporStrategy } from '../../src/strategies/dpor.ts';
import { ReplayStrategy } from '../../src/strategies/replay.ts';
import { CORPUS, type CorpusProgram } from '../fixtures/corpus.ts';
import { allSchedules } from '../fixtures/engine.ts';

/** Largest brute-force enumeration allowed (ioreq(2 vcpus) and independent(2x8) have ~12,900). */
const MAX_SCHEDULES = 50_000;
/** (complete + blocked) DPOR executions per class. */
const MAX_RATIO = 1.2;

/** Replays a schedule with the invariants' reads recorded into the footprints, as DPOR runs. */
class TrackedReplay extends ReplayStrategy {
  readonly tracksReads = true;
}

const bugName = (b: Bug) => `${b.kind}: ${b.invariant ?? b.message}`;

function classKey(r: ExecutionResult): string {
  return traceClassKey(
    r.moves,
    r.records.map((x) => x.footprint),
  );
}

interface BruteForce {
  readonly interleavings: number;
  /** Class key → the first schedule found in it. */
  readonly classes: ReadonlyMap<string, string>;
  readonly bugs: ReadonlySet<string>;
  /** Some execution stops at an invariant or assertion bug (see the comment at the top). */
  readonly truncated: boolean;
}

function bruteForce(inst: ScenarioInstance): BruteForce {
  const runs = allSchedules(inst, { record: true }, MAX_SCHEDULES);
  // Only a tracked invariant adds reads to the footprints: replay only when there is one.
  const tracked = inst.invariants.some((i) => i.kind === 'tracked');
  const classes = new Map<string, string>();
  const bugs = new Set<string>();
  let truncated = false;
  for (const r of runs) {
    let run = r;
    if (tracked) {
      const replay = new TrackedReplay(r.moves);
      replay.begin();
      run = runExecution(inst, replay, 0, { record: true });
      expect(run.traceHash).toBe(r.traceHash);
    }
    const key = classKey(run);
    if (!classes.has(key)) classes.set(key, r.moves.join(' '));
    if (r.bug) {
      bugs.add(bugName(r.bug));
      if (r.bug.kind === 'invariant' || r.bug.kind === 'assertion') truncated = true;
    }
  }
  return { interleavings: runs.length, classes, bugs, truncated };
}

interface Dpor {
  readonly complete: number;
  readonly blocked: number;
  /** Class key → the first complete DPOR execution in it. */
  readonly classes: ReadonlyMap<string, string>;
  readonly bugs: ReadonlySet<string>;
}

function dpor(inst: ScenarioInstance): Dpor {
  const s = new DporStrategy();
  const classes = new Map<string, string>();
  const bugs = new Set<string>();
  let n = 0;
  while (s.begin()) {
    const r = runExecution(inst, s, n++, { record: true });
    if (r.blocked) continue;
    const key = classKey(r);
    if (!classes.has(key)) classes.set(key, r.moves.join(' '));
    if (r.bug) bugs.add(bugName(r.bug));
  }
  expect(s.exhausted).toBe(true);
  return { complete: s.complete, blocked: s.blocked, classes, bugs };
}

interface Row {
  readonly program: string;
  readonly interleavings: number;
  readonly classes: number;
  readonly dpor: number;
  readonly blocked: number;
  readonly ratio: string;
  readonly bugs: string;
}

const rows = new Map<string, Row>();

afterAll(() => {
  const order = CORPUS.map((p) => p.name).filter((n) => rows.has(n));
  console.log(`DPOR against brute force\n${formatTable(order.map((n) => rows.get(n)!))}`);
});

const HEADER = ['program', 'interleavings', 'classes', 'dpor', 'blocked', 'ratio', 'bugs'];

function formatTable(table: readonly Row[]): string {
  const all = [
    HEADER,
    ...table.map((r) => [
      r.program,
      `${r.interleavings}`,
      `${r.classes}`,
      `${r.dpor}`,
      `${r.blocked}`,
      r.ratio,
      r.bugs,
    ]),
  ];
  const widths = HEADER.map((_, c) => Math.max(...all.map((row) => row[c].length)));
  const text = (cell: string, c: number) =>
    c === 0 || c === 6 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]);
  return all.map((row) => row.map(text).join('  ').trimEnd()).join('\n');
}

function analyse(p: CorpusProgram): { brute: BruteForce; dpor: Dpor } {
  const inst = p.make();
  const brute = bruteForce(inst);
  const d = dpor(inst);
  rows.set(p.name, {
    program: p.name,
    interleavings: brute.interleavings,
    classes: brute.classes.size,
    dpor: d.complete,
    blocked: d.blocked,
    ratio: ((d.complete + d.blocked) / brute.classes.size).toFixed(2),
    bugs: [...brute.bugs].map((b) => b.split(':')[0]).join(', ') || '-',
  });
  return { brute, dpor: d };
}

describe.each(CORPUS.map((p) => [p.name, p] as const))('%s', (_name, program) => {
  let memo: { brute: BruteForce; dpor: Dpor } | undefined;
  const result = () => (memo ??= analyse(program));

  it('finds every bug brute force finds, and no other', () => {
    const { brute, dpor } = result();
    expect([...dpor.bugs].sort()).toEqual([...brute.bugs].sort());
  });

  it('explores every class brute force finds (exactly those, when no execution stops at a bug)', () => {
    const { brute, dpor } = result();
    const extra = [...dpor.classes].filter(([k]) => !brute.classes.has(k)).map(([, moves]) => moves);
    expect(extra, 'DPOR executions in no brute-force class').toEqual([]);
    if (brute.truncated) return;
    const missed = [...brute.classes].filter(([k]) => !dpor.classes.has(k)).map(([, moves]) => moves);
    expect(missed, 'classes DPOR missed (one brute-force schedule of each)').toEqual([]);
  });

  it('runs each class once (sleep sets)', () => {
    const { brute, dpor } = result();
    expect(dpor.complete).toBe(dpor.classes.size);
    if (!brute.truncated) expect(dpor.complete).toBe(brute.classes.size);
  });

  it(`abandons few executions: (complete + blocked) / classes <= ${MAX_RATIO}`, () => {
    const { brute, dpor } = result();
    expect((dpor.complete + dpor.blocked) / brute.classes.size).toBeLessThanOrEqual(MAX_RATIO);
  });
});
