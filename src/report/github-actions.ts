import { type Counterexample, formatCounterexample } from './counterexample.ts';
import { sequenceDiagram } from './mermaid-sequence.ts';
import type { VariantReport } from './variant-report.ts';

/**
 * What a check tells GitHub Actions when it runs there (`GITHUB_ACTIONS=true`): workflow
 * commands that become annotations on the run (an error for each verdict not as
 * expected, a notice for each expected bug), and a Markdown step summary with the
 * verdicts and each bug's counterexample as a Mermaid sequence diagram.
 */
export function annotations(reports: readonly VariantReport[]): string[] {
  return reports.map((r) => {
    const title = `vcpusim ${r.scenario}:${r.variant}`;
    const trace = r.traceFile ? ` (vcpusim replay ${r.traceFile})` : '';
    if (r.verdict === 'error') return command('error', title, `could not be checked: ${r.error?.message}`);
    if (r.verdict === 'bug') {
      const what = `${r.kind}: ${r.message}${trace}`;
      return r.ok
        ? command('notice', title, `expected bug found: ${what}`)
        : command('error', title, `unexpected bug: ${what}`);
    }
    if (!r.ok)
      return command(
        'error',
        title,
        `expected a bug, none in ${r.schedules} schedules${r.exhaustive ? ' (exhaustive)' : ''}`,
      );
    return command('notice', title, `pass in ${r.schedules} schedules${r.exhaustive ? ' (exhaustive)' : ''}`);
  });
}

/** A workflow command; its data and properties escaped as the runner expects. */
function command(kind: 'error' | 'notice', title: string, message: string): string {
  const data = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
  const prop = (s: string) => data(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
  return `::${kind} title=${prop(title)}::${data(message)}`;
}

export function stepSummary(
  reports: readonly VariantReport[],
  counterexamples: ReadonlyMap<string, Counterexample>,
): string {
  const bad = reports.filter((r) => !r.ok).length;
  const lines = [
    '## vcpusim check',
    '',
    `${reports.length} variant${reports.length === 1 ? '' : 's'} checked: ${reports.length - bad} as expected${bad ? `, **${bad} not as expected**` : ''}.`,
    '',
    '| | variant | expect | verdict | schedules | time |',
    '|---|---|---|---|---|---|',
    ...reports.map((r) => {
      const verdict = r.verdict === 'bug' ? `bug: ${r.kind}` : r.verdict;
      const how = r.exhaustive ? ' (exhaustive)' : '';
      return `| ${r.ok ? '✅' : '❌'} | ${cell(`${r.scenario}:${r.variant}`)} | ${r.expect} | ${cell(verdict)} | ${r.schedules}${how} | ${(r.elapsedMs / 1000).toFixed(2)} s |`;
    }),
  ];
  for (const r of reports.filter((x) => x.verdict === 'bug')) {
    const shown = counterexamples.get(`${r.scenario}:${r.variant}`);
    lines.push(
      '',
      `### ${cell(`${r.scenario}:${r.variant}`)}: ${r.ok ? 'the expected bug' : 'an unexpected bug'}`,
      '',
    );
    lines.push(cell(`${r.kind}: ${r.message}`), '');
    if (shown) {
      const bug = r.kind
        ? { kind: r.kind, message: r.message ?? '', step: r.step ?? 0, actor: r.actor, steps: r.culprits }
        : undefined;
      lines.push('```mermaid', sequenceDiagram(shown.records, bug), '```', '');
      lines.push(
        '<details><summary>the steps as text</summary>',
        '',
        '```',
        formatCounterexample(shown, ''),
        '```',
        '',
        '</details>',
      );
    }
    if (r.traceFile) lines.push('', `Replay: \`vcpusim replay ${r.traceFile}\``);
  }
  return `${lines.join('\n')}\n`;
}

/** Text for a Markdown table cell or line: no pipes, newlines or HTML. */
function cell(s: string): string {
  return s
    .replace(/\|/g, '\\|')
    .replace(/[\r\n]+/g, ' ')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}
