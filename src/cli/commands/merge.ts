import { readFileSync } from 'node:fs';
import { UsageError } from '../../model/errors.ts';
import { mergeReports } from '../../report/merge.ts';
import type { CheckReport } from '../../report/variant-report.ts';
import type { Io } from '../io.ts';

/** `vcpusim merge A.json B.json ...`: one verdict from the shards' reports. */
export async function mergeCommand(files: readonly string[], json: boolean, io: Io): Promise<number> {
  const out = io.out;
  const inputs = files.map((file) => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new UsageError(
        `${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      );
    }
    try {
      return { file, report: JSON.parse(text) as CheckReport };
    } catch (e) {
      const why = (e as Error).message.split('\n')[0].replace(/, ".*$/, '');
      throw new UsageError(`${file}: not JSON (${why}); expected a vcpusim check --json report`);
    }
  });
  const { report, warnings } = mergeReports(inputs);
  if (json) out(JSON.stringify(report, null, 2));
  else {
    for (const r of report.results) {
      const counts = `${r.schedules} schedules${r.classes !== undefined ? `, ${r.classes} classes` : ''}`;
      const what =
        r.verdict === 'bug'
          ? `BUG ${r.kind}: ${r.message}`
          : r.verdict === 'error'
            ? `ERROR ${r.error?.message}`
            : 'pass';
      out(
        `${r.ok ? 'ok  ' : 'FAIL'} ${r.scenario}:${r.variant}  ${what}  (${counts}${r.exhaustive ? ', exhaustive' : ''})`,
      );
    }
  }
  // On stderr, so that stdout stays one JSON document.
  for (const w of warnings) io.err(`warning: ${w}`);
  return report.exitCode;
}
