/**
 * What a check gives CI: JUnit XML (`--junit FILE`), and under GitHub Actions the
 * annotations and the Markdown step summary with each counterexample as a Mermaid
 * sequence diagram.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Io } from '../../src/cli/io.ts';
import { main } from '../../src/cli/main.ts';
import { junitXml } from '../../src/report/junit.ts';
import { sequenceDiagram, text } from '../../src/report/mermaid-sequence.ts';
import type { VariantReport } from '../../src/report/variant-report.ts';
import type { StepRecord } from '../../src/runtime/step.ts';
import { fixture } from '../cli/helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'vcpusim-ci-'));
const LOCK_PATHS = new URL('../fixtures/lock-paths.ts', import.meta.url).pathname;

async function run(argv: string[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (l) => out.push(l), err: (l) => err.push(l), errRaw: () => {}, isTTY: false, env };
  const code = await main([...argv, '--workers', '1'], io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('--junit FILE', () => {
  it('one test case per variant: an expected bug passes with its counterexample, the rest as they are', async () => {
    const file = join(dir, 'junit.xml');
    // lock-paths:chosen with lock-order off finds no bug where one is expected.
    const r = await run([
      'check',
      LOCK_PATHS,
      fixture('throws.ts'),
      '--no-check',
      'lock-order',
      '--junit',
      file,
    ]);
    expect(r.code).toBe(3);
    const xml = readFileSync(file, 'utf8');
    expect(xml).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="vcpusim" tests="3" failures="1" errors="1" skipped="0"/,
    );
    expect(xml).toContain('<testcase classname="vcpusim.lock-paths" name="chosen"');
    expect(xml).toMatch(
      /<failure message="expected a bug, none in \d+ schedules \(exhaustive\)" type="no-bug">/,
    );
    expect(xml).toMatch(/<testcase classname="vcpusim.lock-paths" name="consistent" time="[\d.]+"\/>/);
    expect(xml).toMatch(/<error message="[^"]*boom while loading[^"]*"/);

    const bugs = join(dir, 'bugs.xml');
    expect((await run(['check', LOCK_PATHS, '--junit', bugs])).code).toBe(0);
    const b = readFileSync(bugs, 'utf8');
    expect(b).toContain('failures="0" errors="0"');
    expect(b).toMatch(/<system-out>lock-order: lock-order inversion: a took A .*in witness 1/);
    expect(b).toContain('witness 1, another execution that records part of the cycle (3 steps):');
    expect(b).toMatch(/counterexample \(5 steps\):\n.*#\s+actor/);
  });

  it('escapes what users write, drops what XML cannot carry, and fails on a bug not expected', () => {
    const report: VariantReport = {
      scenario: 's<&>"',
      variant: "v'1",
      expect: 'pass',
      verdict: 'bug',
      ok: false,
      exhaustive: false,
      interrupted: false,
      strategy: 'dpor',
      seed: 0,
      params: {},
      schedules: 3,
      steps: 9,
      elapsedMs: 1500,
      kind: 'invariant',
      message: 'x < y && "z"\u0001\nnext line',
      step: 2,
    };
    const xml = junitXml([report], new Map());
    expect(xml).toContain('<testsuite name="s&lt;&amp;&gt;&quot;"');
    expect(xml).toContain(
      '<failure message="expected pass, found invariant: x &lt; y &amp;&amp; &quot;z&quot;&#10;next line" type="invariant">',
    );
    expect(xml).toContain('invariant: x &lt; y &amp;&amp; "z"\nnext line');
    expect(xml).not.toContain('\u0001');
    expect(xml).toContain('time="1.500"');
  });

  it('a JUnit file that cannot be written: the results are out, the error named, exit 2', async () => {
    const r = await run(['check', `${LOCK_PATHS}:consistent`, '--junit', join(dir, 'no-such-dir', 'x.xml')]);
    expect(r.out).toMatch(/ok {3}lock-paths:consistent {2}pass/);
    expect(r.err).toMatch(/no-such-dir\/x\.xml: cannot write the JUnit report \(ENOENT\)/);
    expect(r.code).toBe(2);
  });
});

describe('under GitHub Actions', () => {
  it('annotations on stdout, a step summary with a Mermaid sequence diagram of the counterexample', async () => {
    const summary = join(dir, 'summary.md');
    const r = await run(['check', LOCK_PATHS, '--no-check', 'race'], {
      GITHUB_ACTIONS: 'true',
      GITHUB_STEP_SUMMARY: summary,
    });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /^::notice title=vcpusim lock-paths%3Achosen::expected bug found: lock-order: lock-order inversion: a took A/m,
    );
    expect(r.out).toMatch(
      /^::notice title=vcpusim lock-paths%3Aconsistent::pass in \d+ schedules \(exhaustive\)$/m,
    );
    const md = readFileSync(summary, 'utf8');
    expect(md).toContain('| ✅ | lock-paths:chosen | bug | bug: lock-order |');
    expect(md).toContain('```mermaid\nsequenceDiagram\n  participant p0 as a\n');
    expect(md).toContain('p0-)p1: 2. send go → b (other → end)');
    expect(md).toMatch(/rect rgb\(255, 224, 224\)\n {4}p1->>p2: 5\. acquire A \(exclusive\) → granted/);
    expect(md).toMatch(/Note over p1: BUG lock-order: lock-order inversion/);
    // Appended, as the runner expects of several steps.
    await run(['check', `${LOCK_PATHS}:consistent`], {
      GITHUB_ACTIONS: 'true',
      GITHUB_STEP_SUMMARY: summary,
    });
    expect(readFileSync(summary, 'utf8').match(/## vcpusim check/g)).toHaveLength(2);
  });

  it('with --json the document stays alone on stdout and the annotations go to stderr', async () => {
    const r = await run(['check', `${LOCK_PATHS}:consistent`, '--json'], { GITHUB_ACTIONS: 'true' });
    expect(JSON.parse(r.out).ok).toBe(true);
    expect(r.err).toMatch(/^::notice title=vcpusim lock-paths%3Aconsistent::pass/m);
  });

  it('without GITHUB_ACTIONS there is neither', async () => {
    const r = await run(['check', `${LOCK_PATHS}:consistent`]);
    expect(r.out).not.toContain('::');
  });
});

describe('Mermaid sequence diagrams', () => {
  const step = (
    index: number,
    actor: string,
    what: string,
    object?: StepRecord['footprint']['object'],
  ): StepRecord => ({
    index,
    move: actor,
    actor,
    kind: 'op',
    what,
    stateBefore: 's',
    stateAfter: 's',
    footprint: { actor, object },
    hash: '',
  });

  it('escapes the characters Mermaid would interpret', () => {
    expect(text('a;b #c %d <e> & "f" {g}\nh')).toBe(
      'a#59;b #35;c #37;d #60;e#62; #38; #34;f#34; #123;g#125; h',
    );
    const d = sequenceDiagram([
      step(1, 'vcpu;0', 'write x; y', { type: 'memory', addr: 0, width: 1, write: true }),
    ]);
    expect(d).toBe(
      'sequenceDiagram\n  participant p0 as vcpu#59;0\n  participant p1 as memory\n  p0->>p1: 1. write x#59; y',
    );
  });

  it('sends are arrows to the receiver, deliveries and other steps notes, culprits shaded, the bug last', () => {
    const d = sequenceDiagram(
      [
        step(1, 'a', 'send go → b', { type: 'mailbox', owner: 'b', op: 'send' }),
        step(2, 'b', 'deliver go from a', { type: 'mailbox', owner: 'b', op: 'deliver' }),
        step(3, 'b', 'acquire L (exclusive) → granted', { type: 'lock', name: 'L', access: 'exclusive' }),
      ],
      { kind: 'deadlock', message: 'stuck', step: 3, actor: 'b', steps: [3] },
    );
    expect(d.split('\n')).toEqual([
      'sequenceDiagram',
      '  participant p0 as a',
      '  participant p1 as b',
      '  participant p2 as locks',
      '  p0-)p1: 1. send go → b',
      '  Note over p1: 2. deliver go from a',
      '  rect rgb(255, 224, 224)',
      '    p1->>p2: 3. acquire L (exclusive) → granted',
      '  end',
      '  Note over p1: BUG deadlock: stuck',
    ]);
  });
});
