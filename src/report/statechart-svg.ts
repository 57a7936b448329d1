import elk, { type ElkExtendedEdge, type ElkLabel, type ElkNode } from 'elkjs/lib/elk.bundled.js';
import type { Chart, ChartState, ChartTransition } from './statechart.ts';
import { xmlAttr, xmlText } from './xml.ts';

/**
 * A statechart as SVG, laid out by ELK's layered algorithm (elkjs, as Stately's
 * visualiser does): compound states contain their children, a dot marks each initial
 * state and a double border each final one, transitions carry `event [guard] / actions`,
 * `hot` states are shaded and `idle` ones dashed. Every state and transition carries its
 * id (`data-state`, `data-transition`), so a report can highlight them; transitions in
 * `untaken` are drawn dashed and grey, marked "not taken".
 */
export async function statechartSvg(chart: Chart, untaken: ReadonlySet<string> = new Set()): Promise<string> {
  const byId = new Map<string, ChartState>();
  const node = (s: ChartState): ElkNode => {
    byId.set(s.id, s);
    const lines = textLines(s);
    const children = s.children.map(node);
    if (s.initial) children.unshift({ id: initialId(s.id), width: DOT, height: DOT });
    if (children.length === 0) {
      return {
        id: s.id,
        width: Math.max(60, ...lines.map((l) => l.length * CHAR + 2 * PAD)),
        height: LINE * lines.length + 2 * PAD,
      };
    }
    return {
      id: s.id,
      children,
      layoutOptions: {
        'elk.padding': `[top=${LINE * lines.length + PAD},left=${PAD},bottom=${PAD},right=${PAD}]`,
        'elk.nodeSize.constraints': 'MINIMUM_SIZE',
        'elk.nodeSize.minimum': `(${Math.max(60, ...lines.map((l) => l.length * CHAR + 2 * PAD))}, 40)`,
      },
    };
  };
  const edges: ElkExtendedEdge[] = [];
  const collectInitial = (s: ChartState) => {
    if (s.initial) edges.push({ id: `${s.id}#initial`, sources: [initialId(s.id)], targets: [s.initial] });
    s.children.forEach(collectInitial);
  };
  const label = (t: ChartTransition) => {
    const guard = t.guard ? ` [${t.guard}]` : '';
    const actions = t.actions.length ? ` / ${t.actions.join(', ')}` : '';
    return `${t.event}${guard}${actions}${untaken.has(t.id) ? ' (not taken)' : ''}`;
  };
  const root: ElkNode = {
    ...node(chart.root),
    layoutOptions: {
      ...node(chart.root).layoutOptions,
      'elk.algorithm': 'layered',
      'elk.direction': 'DOWN',
      'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
      'elk.layered.spacing.nodeNodeBetweenLayers': '40',
      'elk.spacing.edgeLabel': '4',
      'elk.edgeLabels.inline': 'false',
      // Definition order first: the initial state on top, back edges going up.
      'elk.layered.cycleBreaking.strategy': 'MODEL_ORDER',
      'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
    },
  };
  collectInitial(chart.root);
  chart.transitions.forEach((t) => {
    (t.targets.length ? t.targets : [t.source]).forEach((target, k) => {
      const text = label(t);
      edges.push({
        id: k === 0 ? t.id : `${t.id}@${k}`,
        sources: [t.source],
        targets: [target],
        labels: [{ text, width: text.length * CHAR, height: LINE }],
      });
    });
  });
  root.edges = edges;
  const laid = await new elk.default().layout(root);

  // Node positions are relative to their parent; edge coordinates to their container.
  const origin = new Map<string, { x: number; y: number }>();
  const shapes: string[] = [];
  const place = (n: ElkNode, ox: number, oy: number) => {
    const x = ox + (n.x ?? 0);
    const y = oy + (n.y ?? 0);
    origin.set(n.id, { x, y });
    const s = byId.get(n.id);
    if (n.id.endsWith('#initial')) {
      shapes.push(`<circle class="initial" cx="${x + DOT / 2}" cy="${y + DOT / 2}" r="${DOT / 2}"/>`);
    } else if (s && s !== chart.root) {
      shapes.push(stateShape(s, x, y, n.width ?? 0, n.height ?? 0));
    }
    for (const c of n.children ?? []) place(c, x, y);
  };
  place(laid, 0, 0);
  const paths: string[] = [];
  for (const e of (laid.edges ?? []) as (ElkExtendedEdge & { container?: string })[]) {
    const o = origin.get(e.container ?? laid.id) ?? { x: 0, y: 0 };
    const id = e.id.replace(/@\d+$/, '');
    const initial = e.id.endsWith('#initial');
    const cls = initial ? 'transition initial' : `transition${untaken.has(id) ? ' untaken' : ''}`;
    const parts: string[] = [];
    for (const sec of e.sections ?? []) {
      const pts = [sec.startPoint, ...(sec.bendPoints ?? []), sec.endPoint];
      parts.push(
        `<polyline points="${pts.map((p) => `${round(p.x + o.x)},${round(p.y + o.y)}`).join(' ')}"/>`,
      );
    }
    for (const l of (e.labels ?? []) as ElkLabel[]) {
      parts.push(
        `<text x="${round((l.x ?? 0) + o.x)}" y="${round((l.y ?? 0) + o.y + LINE - 3)}">${xmlText(l.text ?? '')}</text>`,
      );
    }
    paths.push(
      `<g class="${cls}"${initial ? '' : ` data-transition="${xmlAttr(id)}"`}>${parts.join('')}</g>`,
    );
  }
  const w = Math.ceil(laid.width ?? 0) + 2;
  const h = Math.ceil(laid.height ?? 0) + 2;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="statechart" data-machine="${xmlAttr(chart.id)}" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}">`,
    `<style>${STYLE}</style>`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>',
    ...shapes,
    ...paths,
    '</svg>',
  ].join('\n');
}

const CHAR = 6.6;
const LINE = 15;
const PAD = 8;
const DOT = 10;
const round = (n: number) => Math.round(n * 10) / 10;
const initialId = (id: string) => `${id}#initial`;

const STYLE = [
  '.statechart{font:11px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}',
  '.state rect{fill:#fff;stroke:#445;stroke-width:1.2}',
  '.state.hot rect{fill:#f8d0d0;stroke:#c00}',
  '.state.idle rect{stroke-dasharray:4 3}',
  '.state.final rect.inner{fill:none}',
  '.state.current rect{stroke:#06c;stroke-width:3}',
  '.state .title{font-weight:bold}',
  '.state .entry{fill:#555}',
  'circle.initial{fill:#223}',
  '.transition polyline{fill:none;stroke:#445;marker-end:url(#arrow)}',
  '.transition text{fill:#223}',
  '.transition.untaken polyline{stroke:#aaa;stroke-dasharray:3 3}',
  '.transition.untaken text{fill:#999}',
  '.transition.taken polyline{stroke:#06c;stroke-width:2.5}',
  'marker path{fill:#445}',
].join('');

function textLines(s: ChartState): string[] {
  const tags = s.tags.filter((t) => t === 'hot' || t === 'idle');
  return [`${s.key}${tags.length ? ` «${tags.join(', ')}»` : ''}`, ...s.entry.map((a) => `entry / ${a}`)];
}

function stateShape(s: ChartState, x: number, y: number, w: number, h: number): string {
  const cls = [
    'state',
    ...s.tags.filter((t) => t === 'hot' || t === 'idle'),
    ...(s.kind === 'final' ? ['final'] : []),
  ];
  const [title, ...entry] = textLines(s);
  const parts = [`<rect x="${round(x)}" y="${round(y)}" width="${round(w)}" height="${round(h)}" rx="6"/>`];
  if (s.kind === 'final')
    parts.push(
      `<rect class="inner" x="${round(x + 3)}" y="${round(y + 3)}" width="${round(w - 6)}" height="${round(h - 6)}" rx="4"/>`,
    );
  parts.push(
    `<text class="title" x="${round(x + PAD)}" y="${round(y + PAD + LINE - 4)}">${xmlText(title)}</text>`,
  );
  entry.forEach((l, i) => {
    parts.push(
      `<text class="entry" x="${round(x + PAD)}" y="${round(y + PAD + LINE * (i + 2) - 4)}">${xmlText(l)}</text>`,
    );
  });
  return `<g class="${cls.join(' ')}" data-state="${xmlAttr(s.id)}">${parts.join('')}</g>`;
}
