import type { AnyStateMachine } from 'xstate';
import type { Bug, MemoryAccess, StepRecord } from '../runtime/step.ts';
import { type Counterexample, formatSteps } from './counterexample.ts';
import { sequenceSvg } from './sequence-svg.ts';
import { type Chart, type ChartState, chartOf } from './statechart.ts';
import { statechartSvg } from './statechart-svg.ts';
import type { VariantReport } from './variant-report.ts';
import { xmlAttr, xmlText } from './xml.ts';

/** One variant as the HTML report shows it. */
export interface ReportVariant {
  readonly report: VariantReport;
  /** Its bug's steps (and a cross-execution inversion's witnesses). */
  readonly counterexample?: Counterexample;
  readonly bug?: Bug;
  /** Each actor's machine, drawn with the transitions no schedule took marked. */
  readonly machines: readonly { readonly actor: string; readonly chart: Chart; readonly svg: string }[];
}

/** Draws each actor's machine for the report, with the report's coverage overlaid. */
export async function reportVariant(
  report: VariantReport,
  actors: readonly { readonly name: string; readonly machine: AnyStateMachine }[],
  counterexample?: Counterexample,
  bug?: Bug,
): Promise<ReportVariant> {
  const machines = await Promise.all(
    actors.map(async (a) => {
      const chart = chartOf(a.machine);
      const untaken = new Set(report.coverage?.[a.name]?.untaken ?? []);
      return { actor: a.name, chart, svg: await statechartSvg(chart, untaken) };
    }),
  );
  return { report, counterexample, bug, machines };
}

/**
 * The self-contained HTML report of a check (`check --report DIR`): no script, style or
 * font from anywhere else, so it works from a file:// URL offline. It has the summary of
 * verdicts; per bug, the counterexample as a sequence diagram and a step-through view
 * that highlights each machine's current state on its statechart and shows the memory
 * bytes the step changed; and the transition coverage of every machine. Everything a
 * user supplies (names, labels, messages) is escaped; the steps travel as JSON that
 * cannot close its script element.
 */
export function htmlReport(variants: readonly ReportVariant[], tool: { readonly version: string }): string {
  const bad = variants.filter((v) => !v.report.ok).length;
  const body = [
    '<header>',
    `<h1>vcpusim check</h1>`,
    `<p class="lead">${variants.length} variant${variants.length === 1 ? '' : 's'} checked: ${variants.length - bad} as expected${bad ? `, <strong class="fail">${bad} not as expected</strong>` : ''}. vcpusim ${xmlText(tool.version)}.</p>`,
    '</header>',
    summary(variants),
    ...variants.map(section),
  ];
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>vcpusim check report</title>',
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    ...body,
    `<script>${SCRIPT}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

const key = (r: VariantReport) => `${r.scenario}:${r.variant}`;
const anchor = (i: number) => `v${i}`;

function summary(variants: readonly ReportVariant[]): string {
  const rows = variants.map(({ report: r }, i) => {
    const verdict = r.verdict === 'bug' ? `bug: ${r.kind}` : r.verdict;
    const how = r.exhaustive ? 'exhaustive' : (r.stoppedBy ?? '');
    const cov = r.coverage
      ? Object.values(r.coverage).reduce((n, c) => n + c.taken, 0) +
        '/' +
        Object.values(r.coverage).reduce((n, c) => n + c.transitions, 0)
      : '';
    return [
      `<tr class="${r.ok ? 'ok' : 'not-ok'}" data-variant="${xmlAttr(key(r))}">`,
      `<td>${r.ok ? '✔' : '✘'}</td>`,
      `<td><a href="#${anchor(i)}">${xmlText(key(r))}</a></td>`,
      `<td>${r.expect}</td>`,
      `<td class="verdict">${xmlText(verdict)}</td>`,
      `<td class="num">${r.schedules}</td>`,
      `<td>${xmlText(how)}</td>`,
      `<td class="num">${cov}</td>`,
      `<td class="num">${(r.elapsedMs / 1000).toFixed(2)} s</td>`,
      '</tr>',
    ].join('');
  });
  return [
    '<section id="summary"><h2>Verdicts</h2><table class="summary">',
    '<thead><tr><th></th><th>variant</th><th>expect</th><th>verdict</th><th>schedules</th><th>search</th><th>transitions taken</th><th>time</th></tr></thead>',
    `<tbody>${rows.join('\n')}</tbody></table></section>`,
  ].join('\n');
}

function section(v: ReportVariant, i: number): string {
  const r = v.report;
  const parts = [
    `<section class="variant ${r.ok ? 'ok' : 'not-ok'}" id="${anchor(i)}" data-variant="${xmlAttr(key(r))}">`,
    `<h2>${xmlText(key(r))} <span class="tag">${r.ok ? 'as expected' : 'NOT as expected'}</span></h2>`,
  ];
  if (r.verdict === 'error') parts.push(`<p class="error">${xmlText(r.error?.message ?? 'error')}</p>`);
  else if (r.verdict === 'pass') {
    const how = r.exhaustive ? 'exhaustive' : `not exhaustive (${xmlText(r.stoppedBy ?? '')})`;
    parts.push(`<p>pass (expected ${r.expect}): no bug in ${r.schedules} schedules, ${how}.</p>`);
  } else {
    parts.push(
      `<p class="bug-message"><strong>${xmlText(r.kind ?? 'bug')}</strong>: ${xmlText(r.message ?? '')}</p>`,
    );
    parts.push(
      `<p>Found in schedule ${(r.execution ?? 0) + 1} of ${r.schedules}; shrunk to ${r.length ?? '?'} steps.${r.traceFile ? ` Replay: <code>vcpusim replay ${xmlText(r.traceFile)}</code>` : ''}</p>`,
    );
  }
  const c = v.counterexample;
  if (c) {
    c.witnesses.forEach((w, k) => {
      parts.push(
        `<details class="witness"><summary>witness ${k + 1}: another execution that records part of the lock-order cycle (${w.length} steps)</summary><pre>${xmlText(formatSteps(w))}</pre></details>`,
      );
    });
    parts.push('<h3>Counterexample</h3>', `<div class="sequence-box">${sequenceSvg(c.records, v.bug)}</div>`);
    parts.push(stepper(v, c.records));
  } else if (v.machines.length) {
    parts.push(
      `<details class="machines-box"><summary>machines (${v.machines.length})</summary><div class="machines">${figures(v)}</div></details>`,
    );
  }
  if (r.coverage) parts.push(coverage(r));
  parts.push('</section>');
  return parts.join('\n');
}

function figures(v: ReportVariant): string {
  return v.machines
    .map(
      (m) =>
        `<figure data-actor="${xmlAttr(m.actor)}" data-machine="${xmlAttr(m.chart.id)}"><figcaption>${xmlText(m.actor)} <span class="dim">(machine ${xmlText(m.chart.id)})</span>: <span class="now"></span></figcaption><div class="chart">${m.svg}</div></figure>`,
    )
    .join('\n');
}

/** The leaf a machine starts in, as a state name (`a` or `a.b`). */
function initialOf(chart: Chart): string {
  const path: string[] = [];
  let s: ChartState | undefined = chart.root;
  while (s?.initial) {
    const next: ChartState | undefined = s.children.find((c) => c.id === s?.initial);
    if (!next) break;
    path.push(next.key);
    s = next;
  }
  return path.join('.');
}

function stepper(v: ReportVariant, records: readonly StepRecord[]): string {
  const data = {
    machines: v.machines.map((m) => ({ actor: m.actor, machine: m.chart.id, initial: initialOf(m.chart) })),
    steps: records.map((r) => ({
      i: r.index,
      actor: r.actor,
      what: r.what,
      before: r.stateBefore,
      after: r.stateAfter,
      ...(r.access ? { access: accessData(r.access) } : {}),
    })),
  };
  return [
    '<h3>Step through</h3>',
    '<div class="stepper" tabindex="0">',
    '<div class="controls"><button type="button" data-go="first" title="first (Home)">« first</button><button type="button" data-go="prev" title="back (←)">‹ back</button><button type="button" data-go="next" title="forward (→)">next ›</button><button type="button" data-go="last" title="last (End)">last »</button>',
    `<input type="range" min="0" max="${records.length}" value="0" aria-label="step"><span class="pos"></span></div>`,
    '<p class="step-now"></p>',
    '<div class="memory"><h4>Memory this step changed</h4><table class="bytes"><thead><tr><th>address</th><th>before</th><th>after</th></tr></thead><tbody></tbody></table><p class="no-memory">none</p></div>',
    `<div class="machines">${figures(v)}</div>`,
    `<script type="application/json" class="steps">${jsonInScript(data)}</script>`,
    '</div>',
  ].join('\n');
}

function accessData(a: MemoryAccess) {
  return {
    kind: a.kind,
    addr: a.addr,
    width: a.width,
    ...(a.bytes ? { bytes: [...a.bytes] } : {}),
    ...(a.before ? { before: [...a.before] } : {}),
    ...(a.fault ? { fault: a.fault } : {}),
  };
}

function coverage(r: VariantReport): string {
  const rows = Object.entries(r.coverage ?? {}).map(
    ([actor, c]) =>
      `<tr><td>${xmlText(actor)}</td><td>${xmlText(c.machine)}</td><td class="num">${c.taken}/${c.transitions}</td><td class="untaken">${c.untaken.map((u) => `<code>${xmlText(u)}</code>`).join(' ') || '—'}</td></tr>`,
  );
  return `<h3>Coverage</h3><table class="coverage"><thead><tr><th>actor</th><th>machine</th><th>transitions taken</th><th>not taken</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/** JSON that cannot end its script element or start a comment there. */
function jsonInScript(v: unknown): string {
  return JSON.stringify(v)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

const CSS = [
  'body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:1400px;padding:1rem 2rem;color:#1b1f24}',
  'h1{margin:.2rem 0}h2{margin-top:2.5rem;border-bottom:1px solid #ddd;padding-bottom:.3rem}',
  '.tag{font-size:.8rem;font-weight:normal;padding:.1rem .4rem;border-radius:4px;background:#e6f4ea;color:#0a5d22}',
  '.not-ok .tag{background:#fde2e1;color:#9c1c13}.fail{color:#9c1c13}',
  'table{border-collapse:collapse}td,th{padding:.25rem .6rem;border-bottom:1px solid #eee;text-align:left;vertical-align:top}',
  '.num{text-align:right;font-variant-numeric:tabular-nums}',
  'tr.not-ok td{background:#fff3f2}',
  '.bug-message{background:#fff3f2;border-left:4px solid #c00;padding:.5rem .8rem}',
  '.error{color:#9c1c13}',
  'code,pre{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}',
  'pre{overflow:auto;background:#f6f8fa;padding:.6rem}',
  '.sequence-box,.chart{overflow:auto;border:1px solid #e3e3e3;background:#fff}',
  '.sequence-box{max-height:32rem}',
  '.stepper{outline:none}',
  '.controls{display:flex;gap:.4rem;align-items:center;margin:.5rem 0}',
  '.controls button{font-size:.9rem;padding:.2rem .6rem}',
  '.controls input{flex:1;max-width:30rem}',
  '.step-now{font:13px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#eef4ff;padding:.4rem .6rem}',
  '.bytes td{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}.bytes td.changed{background:#fff0b3;font-weight:bold}',
  '.machines{display:flex;flex-wrap:wrap;gap:1rem}figure{margin:0;flex:1 1 40rem;min-width:0}',
  'figcaption{font-weight:600;margin-bottom:.3rem}.dim{color:#666;font-weight:normal}.now{font-family:ui-monospace,monospace;color:#06c}',
  '.chart{max-height:40rem}',
  '.untaken code{display:inline-block;margin:0 .3rem .2rem 0;color:#666}',
].join('\n');

/** Drives every step-through view of the page; reads its data as JSON and writes only text. */
const SCRIPT = `
(function () {
  'use strict';
  var hex = function (n) { return ('0' + n.toString(16)).slice(-2); };
  document.querySelectorAll('.stepper').forEach(function (box) {
    var data = JSON.parse(box.querySelector('script.steps').textContent);
    var section = box.closest('section');
    var n = data.steps.length;
    var at = 0;
    var range = box.querySelector('input[type=range]');
    var pos = box.querySelector('.pos');
    var now = box.querySelector('.step-now');
    var tbody = box.querySelector('.bytes tbody');
    var none = box.querySelector('.no-memory');
    function figure(actor) {
      var figs = box.querySelectorAll('figure');
      for (var i = 0; i < figs.length; i++) if (figs[i].getAttribute('data-actor') === actor) return figs[i];
      return null;
    }
    function memory(step) {
      while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
      var a = step && step.access;
      var rows = 0;
      if (a && !a.fault && a.bytes) {
        for (var k = 0; k < a.bytes.length; k++) {
          var before = a.before ? a.before[k] : undefined;
          if (a.kind !== 'read' && before === a.bytes[k]) continue;
          var tr = document.createElement('tr');
          var cells = ['0x' + (a.addr + k).toString(16), before === undefined ? (a.kind === 'read' ? 'read' : '') : hex(before), hex(a.bytes[k])];
          cells.forEach(function (text, c) {
            var td = document.createElement('td');
            td.textContent = text;
            if (c === 2 && a.kind !== 'read') td.className = 'changed';
            tr.appendChild(td);
          });
          tbody.appendChild(tr);
          rows++;
        }
      }
      none.style.display = rows ? 'none' : '';
      tbody.parentNode.style.display = rows ? '' : 'none';
      none.textContent = a && a.fault ? 'fault: ' + a.fault : a && a.kind === 'read' ? 'none (a read)' : 'none';
    }
    // Scrolls a statechart so that its current state is in view.
    function reveal(fig) {
      var chart = fig.querySelector('.chart');
      var el = fig.querySelector('.state.current');
      if (!chart || !el) return;
      var r = el.getBoundingClientRect();
      var c = chart.getBoundingClientRect();
      if (r.left >= c.left && r.right <= c.right && r.top >= c.top && r.bottom <= c.bottom) return;
      chart.scrollLeft += r.left + r.width / 2 - (c.left + c.width / 2);
      chart.scrollTop += r.top + r.height / 2 - (c.top + c.height / 2);
    }
    function show(k) {
      at = Math.max(0, Math.min(n, k));
      var states = {};
      data.machines.forEach(function (m) { states[m.actor] = m.initial; });
      for (var j = 0; j < at; j++) states[data.steps[j].actor] = data.steps[j].after;
      data.machines.forEach(function (m) {
        var fig = figure(m.actor);
        if (!fig) return;
        fig.querySelectorAll('.state.current').forEach(function (e) { e.classList.remove('current'); });
        String(states[m.actor] || '').split('|').forEach(function (part) {
          fig.querySelectorAll('[data-state]').forEach(function (e) {
            if (e.getAttribute('data-state') === m.machine + '.' + part) e.classList.add('current');
          });
        });
        reveal(fig);
        fig.querySelector('.now').textContent = states[m.actor] || '';
      });
      section.querySelectorAll('.sequence .step.current').forEach(function (e) { e.classList.remove('current'); });
      var row = null;
      section.querySelectorAll('.sequence .step').forEach(function (e) { if (Number(e.getAttribute('data-step')) === at) row = e; });
      if (row) row.classList.add('current');
      range.value = String(at);
      pos.textContent = 'step ' + at + ' of ' + n;
      var s = at > 0 ? data.steps[at - 1] : null;
      now.textContent = s
        ? s.i + '. ' + s.actor + ': ' + s.what + (s.before !== s.after ? '  (' + s.before + ' \\u2192 ' + s.after + ')' : '')
        : 'before the first step: every machine in its initial state';
      memory(s);
    }
    box.querySelectorAll('button[data-go]').forEach(function (b) {
      b.addEventListener('click', function () {
        var go = b.getAttribute('data-go');
        show(go === 'first' ? 0 : go === 'last' ? n : go === 'prev' ? at - 1 : at + 1);
      });
    });
    range.addEventListener('input', function () { show(Number(range.value)); });
    box.addEventListener('keydown', function (e) {
      if (e.key === 'ArrowRight') show(at + 1);
      else if (e.key === 'ArrowLeft') show(at - 1);
      else if (e.key === 'Home') show(0);
      else if (e.key === 'End') show(n);
      else return;
      e.preventDefault();
    });
    section.querySelectorAll('.sequence .step').forEach(function (e) {
      e.addEventListener('click', function () {
        show(Number(e.getAttribute('data-step')));
        box.focus();
      });
    });
    show(0);
  });
})();
`;
