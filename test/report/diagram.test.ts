/**
 * Statecharts drawn from the machines' own xstate definitions (`vcpusim diagram`): the
 * chart has exactly the states and transitions the definition has, operation actions
 * are named by what they do, and the Mermaid text is what GitHub renders.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type AnyStateNode, setup } from 'xstate';
import { stateDiagram } from '../../src/report/mermaid-state.ts';
import { chartOf } from '../../src/report/statechart.ts';
import { statechartSvg } from '../../src/report/statechart-svg.ts';
import { instantiate } from '../../src/scenario/instance.ts';
import { loadBundled } from '../../src/scenario/load.ts';
import { cli } from '../cli/helpers.ts';
import lockPaths from '../fixtures/lock-paths.ts';

const actorsOf = (variant = 'chosen') => instantiate(lockPaths, variant).actors;

describe('charts from xstate definitions', () => {
  it('reads states, kinds, initial, tags, entry operations, guards and actions', () => {
    const [a, b, n1] = actorsOf();
    const chart = chartOf(a.machine);
    expect(chart.root.initial).toBe('chooser.choose');
    expect(chart.root.children.map((c) => [c.key, c.kind, c.entry])).toEqual([
      ['choose', 'atomic', ['choose path']],
      ['self', 'atomic', ['acquire A', 'acquire B', 'release B', 'release A']],
      ['other', 'atomic', ['send go → b']],
      ['end', 'final', []],
    ]);
    expect(chart.transitions.map((t) => [t.source, t.event, t.guard, t.targets])).toEqual([
      ['chooser.choose', 'ops.done', 'guard', ['chooser.self']],
      ['chooser.choose', 'ops.done', undefined, ['chooser.other']],
      ['chooser.self', 'ops.done', undefined, ['chooser.end']],
      ['chooser.other', 'ops.done', undefined, ['chooser.end']],
    ]);
    expect(chartOf(b.machine).root.children[0].tags).toEqual(['idle']);
    expect(chartOf(n1.machine).transitions[0]).toMatchObject({
      targets: ['noise.round'],
      actions: ['assign'],
    });
    // A variant's parameters change the machine: the chart follows.
    expect(chartOf(actorsOf('consistent')[1].machine).root.children[1].entry).toEqual([
      'acquire A',
      'acquire B',
      'release B',
      'release A',
    ]);
  });

  it('has every state and every transition of every bundled machine, and nothing else', async () => {
    const { scenarios } = await loadBundled();
    expect(scenarios.length).toBeGreaterThanOrEqual(2);
    for (const { scenario } of scenarios) {
      for (const v of Object.keys(scenario.variants)) {
        for (const actor of instantiate(scenario, v).actors) {
          const states: string[] = [];
          let transitions = 0;
          const walk = (n: AnyStateNode) => {
            states.push(n.id);
            for (const ts of n.transitions.values()) transitions += ts.length;
            transitions += n.always?.length ?? 0;
            Object.values(n.states).forEach(walk);
          };
          walk(actor.machine.root);
          const chart = chartOf(actor.machine);
          const charted: string[] = [];
          const collect = (s: typeof chart.root) => {
            charted.push(s.id);
            s.children.forEach(collect);
          };
          collect(chart.root);
          expect(charted, `${scenario.name}:${v} ${actor.name}`).toEqual(states);
          expect(chart.transitions).toHaveLength(transitions);
          const text = stateDiagram(chart);
          const edges = text.split('\n').filter((l) => / --> s\d+ : /.test(l));
          expect(edges.length, `${scenario.name}:${v} ${actor.name}`).toBe(
            chart.transitions.reduce((n, t) => n + Math.max(1, t.targets.length), 0),
          );
        }
      }
    }
  });
});

describe('Mermaid stateDiagram-v2', () => {
  it('draws initial and final markers, labels, idle and hot states', () => {
    const [, b] = actorsOf();
    expect(stateDiagram(chartOf(b.machine))).toBe(
      [
        'stateDiagram-v2',
        '  [*] --> s0',
        '  state "waiting" as s0',
        '  state "run" as s1',
        '  s1 : entry / acquire B, acquire A, release A, release B',
        '  state "end" as s2',
        '  s2 --> [*]',
        '  s0 --> s1 : go',
        '  s1 --> s2 : ops.done',
        '  classDef idle stroke-dasharray:4 3',
        '  class s0 idle',
      ].join('\n'),
    );
  });

  it('marks the transitions no schedule took', () => {
    const chart = chartOf(actorsOf()[0].machine);
    const text = stateDiagram(chart, new Set([chart.transitions[1].id]));
    expect(text).toContain('s0 --> s2 : ops.done (not taken)');
    expect(text).toContain('s0 --> s1 : ops.done [guard]\n');
  });
});

/** A machine with a compound state, a hot state, a user's awkward names and a final state. */
const nested = setup({ types: { events: {} as { type: 'go' } | { type: '<stop&>' } } }).createMachine({
  id: 'nested',
  initial: 'outer',
  states: {
    outer: {
      initial: 'a',
      states: { a: { on: { go: 'b' } }, b: { tags: ['hot'], on: { go: 'a' } } },
      on: { '<stop&>': 'done' },
    },
    done: { type: 'final' },
  },
});

const box = (svg: string, id: string) => {
  const m = new RegExp(
    `data-state="${id}"><rect x="([\\d.]+)" y="([\\d.]+)" width="([\\d.]+)" height="([\\d.]+)"`,
  ).exec(svg);
  expect(m, id).not.toBeNull();
  const [x, y, w, h] = m!.slice(1).map(Number);
  return { x, y, w, h };
};

describe('SVG statecharts laid out by ELK', () => {
  it('nests compound states, marks initial, final, hot and idle states, and labels every transition', async () => {
    const chart = chartOf(nested);
    const svg = await statechartSvg(chart);
    expect(svg).toMatch(
      /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" class="statechart" data-machine="nested" viewBox="0 0 [\d.]+ [\d.]+"/,
    );
    const outer = box(svg, 'nested.outer');
    for (const child of ['nested.outer.a', 'nested.outer.b']) {
      const c = box(svg, child);
      expect(c.x).toBeGreaterThan(outer.x);
      expect(c.y).toBeGreaterThan(outer.y);
      expect(c.x + c.w).toBeLessThan(outer.x + outer.w);
      expect(c.y + c.h).toBeLessThan(outer.y + outer.h);
    }
    // One dot per initial state (the machine's and outer's), a double border for the final one.
    expect(svg.match(/<circle class="initial"/g)).toHaveLength(2);
    expect(svg).toMatch(/<g class="state final" data-state="nested.done"><rect [^>]+\/><rect class="inner"/);
    expect(svg).toContain('<g class="state hot" data-state="nested.outer.b">');
    expect(svg).toContain('b «hot»');
    for (const t of chart.transitions)
      expect(svg).toContain(
        `data-transition="${t.id.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}"`,
      );
    // What users name is escaped.
    expect(svg).toContain('>&lt;stop&amp;&gt;</text>');
    expect(svg).not.toContain('<stop&>');
    const [, b] = actorsOf();
    expect(await statechartSvg(chartOf(b.machine))).toContain(
      '<g class="state idle" data-state="on-request.waiting">',
    );
  });

  it('draws the transitions no schedule took dashed, marked not taken', async () => {
    const chart = chartOf(actorsOf()[0].machine);
    const svg = await statechartSvg(chart, new Set([chart.transitions[1].id]));
    expect(svg).toContain(`<g class="transition untaken" data-transition="${chart.transitions[1].id}">`);
    expect(svg).toContain('ops.done (not taken)</text>');
    expect(svg.match(/class="transition untaken"/g)).toHaveLength(1);
  });
});

describe('vcpusim diagram', () => {
  it('prints a Markdown document with one diagram per actor, or one bare diagram with --actor', async () => {
    const all = await cli('diagram', 'runstate:fixed');
    expect(all.code).toBe(0);
    expect(all.out).toMatch(
      /^# runstate:fixed\n\n## vcpu \(machine `runstate-writer`\)\n\n```mermaid\nstateDiagram-v2\n/,
    );
    expect(all.out).toContain('## guest (machine `runstate-reader`)');
    const one = await cli('diagram', 'runstate', '--actor', 'vcpu', '--format', 'mermaid');
    expect(one.out).toMatch(/^stateDiagram-v2\n {2}\[\*\] --> s0\n/);
    expect(one.out).toContain('s0 --> s1 : always [morePending] / account, splitLengths');
  });

  it('--format svg --actor prints one SVG; --out DIR writes a file per actor', async () => {
    const one = await cli('diagram', 'runstate', '--actor', 'guest', '--format', 'svg');
    expect(one.code).toBe(0);
    expect(one.out).toMatch(/^<svg [^>]*data-machine="runstate-reader"/);
    const dir = mkdtempSync(join(tmpdir(), 'vcpusim-diagram-'));
    const all = await cli('diagram', 'runstate:fixed', '--format', 'svg', '--out', dir);
    expect(all.out.split('\n')).toEqual([
      join(dir, 'runstate.fixed.vcpu.svg'),
      join(dir, 'runstate.fixed.guest.svg'),
    ]);
    expect(readFileSync(join(dir, 'runstate.fixed.vcpu.svg'), 'utf8')).toContain(
      'data-machine="runstate-writer"',
    );
  });

  it('names what is wrong: an unknown actor, format or scenario', async () => {
    const actor = await cli('diagram', 'runstate', '--actor', 'nope');
    expect(actor.code).toBe(2);
    expect(actor.err).toContain("scenario 'runstate' has no actor 'nope' (actors: vcpu, guest)");
    const format = await cli('diagram', 'runstate', '--format', 'png');
    expect(format.code).toBe(2);
    expect(format.err).toContain('--format png: unknown (formats: mermaid, svg)');
    const several = await cli('diagram', 'runstate', '--format', 'svg');
    expect(several.code).toBe(2);
    expect(several.err).toContain(
      '--format svg draws one machine: name it with --actor (actors: vcpu, guest), or give --out DIR',
    );
    const none = await cli('diagram', 'no-such-scenario');
    expect(none.code).not.toBe(0);
    expect(none.err).toContain('no-such-scenario');
  });
});
