import type { Bug, MemoryAccess, StepRecord } from '../runtime/step.ts';

/**
 * The readable counterexample: numbered steps, each with the actor, its state before →
 * after, what the step did and the memory bytes it touched.
 */
export function formatSteps(records: readonly StepRecord[], indent = '  '): string {
  const wIdx = String(records.length).length + 1;
  const wActor = Math.max(5, ...records.map((r) => r.actor.length));
  const states = records.map((r) =>
    r.stateBefore === r.stateAfter ? r.stateAfter : `${r.stateBefore} → ${r.stateAfter}`,
  );
  const wState = Math.min(40, Math.max(5, ...states.map((s) => s.length)));
  const wWhat = Math.min(48, Math.max(4, ...records.map((r) => r.what.length)));
  const lines = [
    `${indent}${'#'.padStart(wIdx)}  ${'actor'.padEnd(wActor)}  ${'state'.padEnd(wState)}  ${'step'.padEnd(wWhat)}  memory`,
  ];
  records.forEach((r, i) => {
    const mem = r.access ? formatAccess(r.access) : '';
    lines.push(
      `${indent}${String(r.index).padStart(wIdx)}  ${r.actor.padEnd(wActor)}  ${states[i].padEnd(wState)}  ${r.what.padEnd(wWhat)}  ${mem}`.trimEnd(),
    );
  });
  return lines.join('\n');
}

export function formatAccess(a: MemoryAccess): string {
  if (a.fault) return `fault: ${a.fault}`;
  const at = `[0x${a.addr.toString(16)}]`;
  if (a.kind === 'read') return `${at} = ${hexBytes(a.bytes ?? [])}`;
  if (a.before && a.bytes) return `${at} ${hexBytes(a.before)} → ${hexBytes(a.bytes)}`;
  return at;
}

export function hexBytes(b: readonly number[]): string {
  return b.map((x) => x.toString(16).padStart(2, '0')).join(' ');
}

export function formatBug(bug: Bug): string {
  return `${bug.kind}: ${bug.message} (at step ${bug.step})`;
}

/** A bug's steps as the CLI shows them: a cross-execution inversion's witnesses first. */
export interface Counterexample {
  readonly records: readonly StepRecord[];
  readonly witnesses: readonly (readonly StepRecord[])[];
}

/** The counterexample as text: each witness, then the steps, indented. */
export function formatCounterexample(c: Counterexample, indent = '      '): string {
  const lines: string[] = [];
  c.witnesses.forEach((w, i) => {
    lines.push(
      `${indent}witness ${i + 1}, another execution that records part of the cycle (${w.length} steps):`,
    );
    lines.push(formatSteps(w, indent));
  });
  lines.push(`${indent}counterexample (${c.records.length} steps):`);
  lines.push(formatSteps(c.records, indent));
  return lines.join('\n');
}
