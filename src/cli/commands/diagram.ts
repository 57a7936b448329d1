import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../../model/errors.ts';
import { stateDiagram } from '../../report/mermaid-state.ts';
import { type Chart, chartOf } from '../../report/statechart.ts';
import { statechartSvg } from '../../report/statechart-svg.ts';
import type { CheckReport, MachineCoverage } from '../../report/variant-report.ts';
import { defaultVariant, instantiate, parseParams } from '../../scenario/instance.ts';
import { resolveScenario, splitTarget } from '../../scenario/load.ts';

export const DIAGRAM_FORMATS = ['mermaid', 'svg'] as const;
type Format = (typeof DIAGRAM_FORMATS)[number];

export interface DiagramArgs {
  readonly target: string;
  /** Only this actor's machine. */
  readonly actor?: string;
  readonly format: string;
  /** Write one file per actor into this directory. */
  readonly outDir?: string;
  /** A `check --coverage --json` report: mark the transitions it says no schedule took. */
  readonly coverageFrom?: string;
  readonly params: readonly string[];
}

const draw = (chart: Chart, format: Format, untaken?: ReadonlySet<string>) =>
  format === 'svg' ? statechartSvg(chart, untaken) : Promise.resolve(stateDiagram(chart, untaken));

/** Per actor, the transitions a report's coverage says no schedule took. */
function untakenFrom(file: string, scenario: string, variant: string): Map<string, ReadonlySet<string>> {
  let doc: CheckReport;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8')) as CheckReport;
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message.split('\n')[0];
    throw new UsageError(`--coverage ${file}: cannot read a check --json report (${why})`);
  }
  const r = Array.isArray(doc?.results)
    ? doc.results.find((x) => x.scenario === scenario && x.variant === variant)
    : undefined;
  if (!r?.coverage) {
    throw new UsageError(
      `--coverage ${file}: no coverage for ${scenario}:${variant} in it (run: vcpusim check ${scenario}:${variant} --coverage --json > ${file})`,
    );
  }
  return new Map(
    (Object.entries(r.coverage) as [string, MachineCoverage][]).map(([actor, c]) => [
      actor,
      new Set(c.untaken),
    ]),
  );
}

/**
 * `vcpusim diagram <scenario>[:<variant>]`: each actor's machine, as the variant runs it,
 * drawn from its xstate definition. One actor (`--actor`): the bare diagram on stdout.
 * Several: with `--out DIR` a file per actor; else, in Mermaid, a Markdown document with
 * a heading and a fenced diagram per actor.
 */
export async function diagramCommand(a: DiagramArgs, out: (s: string) => void): Promise<number> {
  if (!(DIAGRAM_FORMATS as readonly string[]).includes(a.format))
    throw new UsageError(`--format ${a.format}: unknown (formats: ${DIAGRAM_FORMATS.join(', ')})`);
  const format = a.format as Format;
  const { ref, variant } = splitTarget(a.target);
  const s = (await resolveScenario(ref)).scenario;
  const v = variant ?? defaultVariant(s);
  const instance = instantiate(s, v, parseParams(s, a.params));
  const names = instance.actors.map((x) => x.name).join(', ');
  const actors = a.actor ? instance.actors.filter((x) => x.name === a.actor) : instance.actors;
  if (actors.length === 0)
    throw new UsageError(`scenario '${s.name}' has no actor '${a.actor}' (actors: ${names})`);
  const untaken = a.coverageFrom ? untakenFrom(a.coverageFrom, s.name, v) : undefined;
  const drawn = (x: (typeof actors)[number]) => draw(chartOf(x.machine), format, untaken?.get(x.name));
  if (a.outDir) {
    try {
      mkdirSync(a.outDir, { recursive: true });
      for (const x of actors) {
        const file = join(a.outDir, `${s.name}.${v}.${x.name}.${format === 'svg' ? 'svg' : 'mmd'}`);
        writeFileSync(file, `${await drawn(x)}\n`);
        out(file);
      }
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (!code) throw e;
      throw new UsageError(`--out ${a.outDir}: cannot write the diagrams (${code})`);
    }
    return 0;
  }
  if (actors.length === 1) {
    out(await drawn(actors[0]));
    return 0;
  }
  if (format === 'svg')
    throw new UsageError(
      `--format svg draws one machine: name it with --actor (actors: ${names}), or give --out DIR`,
    );
  out(`# ${s.name}:${v}`);
  for (const x of actors) {
    for (const l of [
      '',
      `## ${x.name} (machine \`${x.machine.id}\`)`,
      '',
      '```mermaid',
      await drawn(x),
      '```',
    ])
      out(l);
  }
  return 0;
}
