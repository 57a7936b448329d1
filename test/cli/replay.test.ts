import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TraceFile } from '../../src/report/trace-file.ts';
import { cli } from './helpers.ts';

const tmp = mkdtempSync(join(tmpdir(), 'vcpusim-replay-'));

describe('counterexamples, trace files and replay', () => {
  it('check prints numbered steps with actor, states, operation and bytes, and writes a replayable trace', async () => {
    const r = await cli('check', 'mmio-split:pre-fix', '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    const bug = report.results[0];
    expect(bug.kind).toBe('assertion');
    expect(bug.traceHash).toMatch(/^[0-9a-f]{16}$/);
    const trace = JSON.parse(readFileSync(bug.traceFile, 'utf8')) as TraceFile;
    expect(trace.format).toBe('vcpusim-trace');
    expect(trace.scenario.name).toBe('mmio-split');
    expect(trace.variant).toBe('pre-fix');
    expect(trace.params).toEqual({ program: 'both', build: 'debug' });
    expect(trace.steps).toHaveLength(bug.length);

    const text = await cli('check', 'mmio-split:pre-fix');
    expect(text.out).toMatch(/#\s+actor\s+state\s+step\s+memory/);
    expect(text.out).toMatch(/\n\s+1\s+vcpu\d\s+\S+.*(read|write) 0x/);
    expect(text.out).toMatch(/write 0xfe01e\/1 \(state=READY\)\s+\[0xfe01e\] 20 → 21/);

    const replay = await cli('replay', bug.traceFile);
    expect(replay.code).toBe(0);
    expect(replay.out).toMatch(/reproduced: same outcome and trace hash/);
    expect(replay.out).toContain(`traceHash ${bug.traceHash}`);
  });

  it('run --trace writes a trace that replays to the same hash; the same seed gives the same hash', async () => {
    const file = join(tmp, 'run.json');
    const a = JSON.parse(
      (await cli('run', 'mmio-split:fixed', '--seed', '7', '--json', '--trace', file)).out,
    );
    const b = JSON.parse((await cli('run', 'mmio-split:fixed', '--seed', '7', '--json')).out);
    const c = JSON.parse((await cli('run', 'mmio-split:fixed', '--seed', '8', '--json')).out);
    expect(a.traceHash).toBe(b.traceHash);
    expect(a.trace).toEqual(b.trace);
    expect(c.traceHash).not.toBe(a.traceHash);
    const replay = JSON.parse((await cli('replay', file, '--json')).out);
    expect(replay.reproduced).toBe(true);
    expect(replay.traceHash).toBe(a.traceHash);
  });

  it('a trace that no longer fits the model fails at the step where it diverges', async () => {
    const file = join(tmp, 'base.json');
    await cli('run', 'mmio-split:fixed', '--seed', '3', '--trace', file);
    const t = JSON.parse(readFileSync(file, 'utf8')) as TraceFile;
    const moves = t.schedule.split(' ');
    // Step 10 is made to deliver a message nobody sent.
    const bad = [...moves.slice(0, 9), 'vcpu0<vcpu1', ...moves.slice(10)].join(' ');
    writeFileSync(join(tmp, 'moved.json'), JSON.stringify({ ...t, schedule: bad }));
    const r = await cli('replay', join(tmp, 'moved.json'));
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/trace diverges at step 10: it expects 'vcpu0<vcpu1'/);

    // Same moves, but the model now does something else at step 4.
    const steps = t.steps.map((s, i) => (i === 3 ? { ...s, what: 'read 0xdead/8' } : s));
    writeFileSync(join(tmp, 'what.json'), JSON.stringify({ ...t, steps }));
    const w = await cli('replay', join(tmp, 'what.json'));
    expect(w.code).toBe(3);
    expect(w.err).toMatch(/diverges at step 4: the trace says \S+ did 'read 0xdead\/8'/);

    // Both at once: the first divergence (step 4) is the one named, not the later one.
    const both = [...moves.slice(0, 19), 'vcpu0<vcpu1', ...moves.slice(20)].join(' ');
    writeFileSync(join(tmp, 'both.json'), JSON.stringify({ ...t, steps, schedule: both }));
    const b = await cli('replay', join(tmp, 'both.json'));
    expect(b.code).toBe(3);
    expect(b.err).toMatch(/diverges at step 4:/);

    // A trace with moves left over when the model has stopped.
    writeFileSync(join(tmp, 'long.json'), JSON.stringify({ ...t, schedule: `${t.schedule} vcpu0` }));
    const l = await cli('replay', join(tmp, 'long.json'));
    expect(l.code).toBe(3);
    expect(l.err).toMatch(
      new RegExp(`diverges at step ${moves.length + 1}: it expects 'vcpu0', but the enabled moves are: none`),
    );

    // A trace that stops early.
    writeFileSync(join(tmp, 'short.json'), JSON.stringify({ ...t, schedule: moves.slice(0, 5).join(' ') }));
    const s = await cli('replay', join(tmp, 'short.json'));
    expect(s.code).toBe(3);
    expect(s.err).toMatch(/diverges at step 6: the trace ends after 5 steps/);
  });

  it('a recorded bug that no longer happens is reported as not reproduced (exit 1)', async () => {
    const r = JSON.parse((await cli('check', 'mmio-split:descriptor-table', '--json')).out);
    const t = JSON.parse(readFileSync(r.results[0].traceFile, 'utf8')) as TraceFile;
    writeFileSync(join(tmp, 'nobug.json'), JSON.stringify({ ...t, bug: null }));
    const x = await cli('replay', join(tmp, 'nobug.json'));
    expect(x.code).toBe(1);
    expect(x.out).toMatch(/NOT reproduced/);
  });

  it('garbage and missing trace files are load errors (3)', async () => {
    writeFileSync(join(tmp, 'junk.json'), '{ not json');
    expect((await cli('replay', join(tmp, 'junk.json'))).err).toMatch(/not a trace file: invalid JSON/);
    expect((await cli('replay', join(tmp, 'missing.json'))).code).toBe(3);
    writeFileSync(join(tmp, 'other.json'), '{"format": "something-else"}');
    expect((await cli('replay', join(tmp, 'other.json'))).err).toMatch(/not a vcpusim trace file/);
  });
});
