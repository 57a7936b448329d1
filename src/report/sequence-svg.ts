import type { Bug, StepRecord } from '../runtime/step.ts';
import { formatAccess } from './counterexample.ts';
import { xmlText } from './xml.ts';

/**
 * A counterexample as an SVG sequence diagram, for the HTML report: a lifeline per actor,
 * plus `memory` and `locks` when steps touch them; one row per step, an arrow for a send
 * (to its receiver), a memory access or a lock operation, a note for anything else. Rows
 * carry `data-step` so the report can step through them; the checker's culprit steps are
 * shaded, and the bug closes the diagram.
 */
export function sequenceSvg(records: readonly StepRecord[], bug?: Bug): string {
  const lanes: string[] = [];
  const lane = (name: string) => {
    let i = lanes.indexOf(name);
    if (i < 0) i = lanes.push(name) - 1;
    return i;
  };
  for (const r of records) lane(r.actor);
  const rows = records.map((r) => {
    const o = r.footprint.object;
    const from = lane(r.actor);
    const state = r.stateBefore === r.stateAfter ? '' : ` (${r.stateBefore} → ${r.stateAfter})`;
    const access = r.access ? ` ${formatAccess(r.access)}` : '';
    const label = `${r.index}. ${r.what}${state}${access}`;
    let to: number | undefined;
    if (o?.type === 'mailbox' && o.op === 'send') to = lane(o.owner);
    else if (o?.type === 'memory') to = lane('memory');
    else if (o?.type === 'lock') to = lane('locks');
    return { r, from, to, label };
  });
  const x = (i: number) => MARGIN + i * COL + COL / 2;
  const width = MARGIN * 2 + lanes.length * COL;
  const top = HEAD + 12;
  const height = top + (rows.length + (bug ? 1 : 0)) * ROW + 12;
  const culprits = new Set(bug?.steps ?? []);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="sequence" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">`,
    `<style>${STYLE}</style>`,
    '<defs><marker id="seq-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>',
  ];
  lanes.forEach((name, i) => {
    out.push(
      `<g class="lane"><rect x="${x(i) - COL / 2 + 8}" y="4" width="${COL - 16}" height="${HEAD}" rx="4"/>`,
      `<text x="${x(i)}" y="${4 + HEAD / 2 + 4}" text-anchor="middle">${xmlText(clip(name, 22))}</text>`,
      `<line x1="${x(i)}" y1="${HEAD + 4}" x2="${x(i)}" y2="${height - 4}"/></g>`,
    );
  });
  rows.forEach(({ r, from, to, label }, k) => {
    const y = top + k * ROW;
    const cls = `step${culprits.has(r.index) ? ' culprit' : ''}`;
    const parts = [
      `<rect class="row" x="0" y="${y}" width="${width}" height="${ROW}"/>`,
      `<title>${xmlText(label)}</title>`,
    ];
    if (to !== undefined && to !== from) {
      const [a, b] = [x(from), x(to)];
      parts.push(`<line class="arrow" x1="${a}" y1="${y + ROW - 6}" x2="${b}" y2="${y + ROW - 6}"/>`);
      parts.push(
        `<text x="${Math.min(a, b) + 6}" y="${y + ROW - 10}">${xmlText(clip(label, Math.floor(Math.abs(b - a) / CHAR) + 30))}</text>`,
      );
    } else {
      parts.push(
        `<rect class="note" x="${x(from) - COL / 2 + 12}" y="${y + 3}" width="${COL - 24}" height="${ROW - 6}" rx="3"/>`,
      );
      parts.push(
        `<text x="${x(from) - COL / 2 + 16}" y="${y + ROW - 8}">${xmlText(clip(label, Math.floor((COL - 28) / CHAR)))}</text>`,
      );
    }
    out.push(`<g class="${cls}" data-step="${r.index}">${parts.join('')}</g>`);
  });
  if (bug) {
    const y = top + rows.length * ROW;
    const at = x(lane(bug.actor ?? records.at(-1)?.actor ?? 'scenario'));
    const text = `BUG ${bug.kind}: ${bug.message}`;
    out.push(
      `<g class="bug"><title>${xmlText(text)}</title><rect x="${Math.max(4, at - COL)}" y="${y + 2}" width="${Math.min(width - 8, 2 * COL)}" height="${ROW - 4}" rx="3"/>`,
      `<text x="${Math.max(4, at - COL) + 6}" y="${y + ROW - 8}">${xmlText(clip(text, Math.floor((2 * COL - 12) / CHAR)))}</text></g>`,
    );
  }
  out.push('</svg>');
  return out.join('\n');
}

const MARGIN = 8;
const COL = 200;
const ROW = 24;
const HEAD = 26;
const CHAR = 6.6;

function clip(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, Math.max(1, n - 1))}…`;
}

const STYLE = [
  '.sequence{font:11px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}',
  '.lane rect{fill:#eef;stroke:#445}',
  '.lane line{stroke:#99a;stroke-dasharray:4 3}',
  '.step .row{fill:transparent}',
  '.step.culprit .row{fill:#ffe0e0}',
  '.step.current .row{fill:#dbeafe}',
  '.step{cursor:pointer}',
  '.arrow{stroke:#334;marker-end:url(#seq-arrow)}',
  '.note{fill:#fffbe6;stroke:#c9b458}',
  '.bug rect{fill:#fdd;stroke:#c00}',
  '.bug text{fill:#900;font-weight:bold}',
  'marker path{fill:#334}',
].join('');
