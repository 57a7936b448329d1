import { text } from './mermaid-sequence.ts';
import type { Chart, ChartState, ChartTransition } from './statechart.ts';

/**
 * A statechart as a Mermaid `stateDiagram-v2` (GitHub renders it): compound states
 * nested, `[*]` for initial and final, each transition labelled `event [guard] /
 * actions`, entry actions as the state's description, `hot` states shaded and `idle`
 * ones outlined dashed. With `untaken`, the transitions no explored schedule took are
 * marked `(not taken)`.
 */
export function stateDiagram(chart: Chart, untaken: ReadonlySet<string> = new Set()): string {
  const ids = new Map<string, string>();
  const sid = (id: string) => {
    let s = ids.get(id);
    if (!s) ids.set(id, (s = `s${ids.size}`));
    return s;
  };
  const byId = new Map<string, ChartState>();
  const index = (s: ChartState) => {
    byId.set(s.id, s);
    s.children.forEach(index);
  };
  index(chart.root);
  const parentOf = new Map<string, string>();
  for (const s of byId.values()) for (const c of s.children) parentOf.set(c.id, s.id);
  // A transition is drawn inside the innermost state that contains its source and target.
  const home = (t: ChartTransition) => {
    const up = (id: string) => {
      const out = [id];
      for (let p = parentOf.get(id); p; p = parentOf.get(p)) out.push(p);
      return out;
    };
    const sourceUp = up(t.source).slice(1);
    const target = t.targets[0] ?? t.source;
    const targetUp = new Set(up(target).slice(1));
    return sourceUp.find((p) => targetUp.has(p)) ?? chart.root.id;
  };
  const inside = new Map<string, ChartTransition[]>();
  for (const t of chart.transitions) inside.set(home(t), [...(inside.get(home(t)) ?? []), t]);

  const lines: string[] = [];
  const emit = (s: ChartState, depth: number) => {
    const pad = '  '.repeat(depth);
    if (s.initial) lines.push(`${pad}[*] --> ${sid(s.initial)}`);
    for (const c of s.children) {
      const label = text(c.key);
      if (c.children.length > 0) {
        lines.push(`${pad}state "${label}" as ${sid(c.id)} {`);
        emit(c, depth + 1);
        lines.push(`${pad}}`);
      } else lines.push(`${pad}state "${label}" as ${sid(c.id)}`);
      if (c.entry.length > 0) lines.push(`${pad}${sid(c.id)} : entry / ${text(c.entry.join(', '))}`);
      if (c.kind === 'final') lines.push(`${pad}${sid(c.id)} --> [*]`);
    }
    for (const t of inside.get(s.id) ?? []) {
      const guard = t.guard ? ` [${t.guard}]` : '';
      const actions = t.actions.length ? ` / ${t.actions.join(', ')}` : '';
      const mark = untaken.has(t.id) ? ' (not taken)' : '';
      const to = t.targets.length ? t.targets : [t.source];
      for (const target of to)
        lines.push(
          `${pad}${sid(t.source)} --> ${sid(target)} : ${text(`${t.event}${guard}${actions}${mark}`)}`,
        );
    }
  };
  emit(chart.root, 1);
  const hot = [...byId.values()].filter((s) => s.tags.includes('hot') && s !== chart.root);
  const idle = [...byId.values()].filter((s) => s.tags.includes('idle') && s !== chart.root);
  const classes: string[] = [];
  if (hot.length)
    classes.push(
      '  classDef hot fill:#f8d0d0,stroke:#c00',
      `  class ${hot.map((s) => sid(s.id)).join(',')} hot`,
    );
  if (idle.length)
    classes.push(
      '  classDef idle stroke-dasharray:4 3',
      `  class ${idle.map((s) => sid(s.id)).join(',')} idle`,
    );
  return ['stateDiagram-v2', ...lines, ...classes].join('\n');
}
