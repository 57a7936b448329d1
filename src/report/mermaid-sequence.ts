import type { Bug, StepRecord } from '../runtime/step.ts';
import { formatAccess } from './counterexample.ts';

/**
 * A counterexample as a Mermaid `sequenceDiagram` (GitHub renders it in Markdown): one
 * lifeline per actor, plus `memory` and `locks` when steps touch them. A send is an arrow
 * to its receiver, a delivery a note on the receiver, a memory access or lock operation an
 * arrow to `memory` or `locks`, anything else a note on the actor. The culprit steps the
 * checker named are shaded, and the bug is the last note.
 */
export function sequenceDiagram(records: readonly StepRecord[], bug?: Bug): string {
  const culprits = new Set(bug?.steps ?? []);
  const names: string[] = [];
  const id = (name: string) => {
    let i = names.indexOf(name);
    if (i < 0) i = names.push(name) - 1;
    return `p${i}`;
  };
  const body: string[] = [];
  for (const r of records) {
    const me = id(r.actor);
    const state = r.stateBefore === r.stateAfter ? '' : ` (${r.stateBefore} → ${r.stateAfter})`;
    const label = text(`${r.index}. ${r.what}${state}`);
    const o = r.footprint.object;
    let line: string;
    if (o?.type === 'mailbox' && o.op === 'send') line = `${me}-)${id(o.owner)}: ${label}`;
    else if (o?.type === 'memory')
      line = `${me}->>${id('memory')}: ${label}${r.access ? ` ${text(formatAccess(r.access))}` : ''}`;
    else if (o?.type === 'lock') line = `${me}->>${id('locks')}: ${label}`;
    else line = `Note over ${me}: ${label}`;
    body.push(culprits.has(r.index) ? `rect rgb(255, 224, 224)\n  ${line}\nend` : line);
  }
  if (bug) {
    const at = bug.actor ? id(bug.actor) : id(records.at(-1)?.actor ?? 'scenario');
    body.push(`Note over ${at}: ${text(`BUG ${bug.kind}: ${bug.message}`)}`);
  }
  const participants = names.map((n, i) => `participant p${i} as ${text(n)}`);
  const indent = (block: string) =>
    block
      .split('\n')
      .map((l) => `  ${l}`)
      .join('\n');
  return ['sequenceDiagram', ...[...participants, ...body].map(indent)].join('\n');
}

/**
 * Text Mermaid shows as it is: its statement separator `;`, its comment and entity
 * markers `%` and `#`, and the HTML it would interpret become entity codes; newlines
 * become spaces.
 */
export function text(s: string): string {
  return s.replace(/[\r\n]+/g, ' ').replace(/[#;%<>&"{}]/g, (c) => `#${c.charCodeAt(0)};`);
}
