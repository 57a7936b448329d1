import type { Counterexample } from './counterexample.ts';
import { formatCounterexample } from './counterexample.ts';
import type { VariantReport } from './variant-report.ts';
import { xmlAttr, xmlText } from './xml.ts';

/**
 * A check as JUnit XML (`check --junit FILE`), the format CI systems show as tests: one
 * test suite per scenario, one test case per variant. A verdict other than the expected
 * one is a failure carrying the counterexample text; a scenario that could not be
 * checked is an error; an interrupted pass is skipped. An expected bug passes, with its
 * counterexample in system-out.
 */
export function junitXml(
  reports: readonly VariantReport[],
  counterexamples: ReadonlyMap<string, Counterexample>,
): string {
  const suites = new Map<string, VariantReport[]>();
  for (const r of reports) suites.set(r.scenario, [...(suites.get(r.scenario) ?? []), r]);
  const secs = (ms: number) => (ms / 1000).toFixed(3);
  const count = (rs: readonly VariantReport[], f: (r: VariantReport) => boolean) => rs.filter(f).length;
  const failed = (r: VariantReport) => r.verdict !== 'error' && !r.ok && !skipped(r);
  const errored = (r: VariantReport) => r.verdict === 'error';
  const skipped = (r: VariantReport) => r.interrupted && r.verdict === 'pass';
  const total = (rs: readonly VariantReport[]) =>
    `tests="${rs.length}" failures="${count(rs, failed)}" errors="${count(rs, errored)}" skipped="${count(rs, skipped)}" time="${secs(rs.reduce((n, r) => n + r.elapsedMs, 0))}"`;
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="vcpusim" ${total(reports)}>`];
  for (const [scenario, rs] of suites) {
    lines.push(`  <testsuite name="${xmlAttr(scenario)}" ${total(rs)}>`);
    for (const r of rs) {
      const head = `    <testcase classname="vcpusim.${xmlAttr(scenario)}" name="${xmlAttr(r.variant)}" time="${secs(r.elapsedMs)}"`;
      const shown = counterexamples.get(`${r.scenario}:${r.variant}`);
      const detail = bugText(r, shown);
      if (errored(r)) {
        lines.push(
          `${head}>`,
          `      <error message="${xmlAttr(r.error?.message ?? 'error')}" type="${xmlAttr(r.error?.kind ?? 'error')}"/>`,
          '    </testcase>',
        );
      } else if (skipped(r)) {
        lines.push(
          `${head}>`,
          '      <skipped message="interrupted before the search was complete"/>',
          '    </testcase>',
        );
      } else if (failed(r)) {
        const message =
          r.verdict === 'bug'
            ? `expected ${r.expect}, found ${r.kind}: ${r.message}`
            : `expected a bug, none in ${r.schedules} schedules${r.exhaustive ? ' (exhaustive)' : ''}`;
        lines.push(
          `${head}>`,
          `      <failure message="${xmlAttr(message)}" type="${xmlAttr(r.verdict === 'bug' ? (r.kind ?? 'bug') : 'no-bug')}">${xmlText(detail ?? message)}</failure>`,
          '    </testcase>',
        );
      } else if (detail) {
        lines.push(`${head}>`, `      <system-out>${xmlText(detail)}</system-out>`, '    </testcase>');
      } else lines.push(`${head}/>`);
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>');
  return `${lines.join('\n')}\n`;
}

/** What a bug report says, then its counterexample and trace file. */
function bugText(r: VariantReport, shown: Counterexample | undefined): string | undefined {
  if (r.verdict !== 'bug') return undefined;
  return [
    `${r.kind}: ${r.message}`,
    `found in schedule ${(r.execution ?? 0) + 1} of ${r.schedules}, at step ${r.step}`,
    ...(shown ? [formatCounterexample(shown, '  ')] : []),
    ...(r.traceFile ? [`trace: ${r.traceFile} (vcpusim replay ${r.traceFile})`] : []),
  ].join('\n');
}
