import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../../model/errors.ts';
import { stateDiagram } from '../../report/mermaid-state.ts';
import { type Chart, chartOf } from '../../report/statechart.ts';
import { statechartSvg } from '../../report/statechart-svg.ts';
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
  readonly params: readonly string[];
}

const draw = (chart: Chart, format: Format) =>
  format === 'svg' ? statechartSvg(chart) : Promise.resolve(stateDiagram(chart));

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
  if (a.outDir) {
    try {
      mkdirSync(a.outDir, { recursive: true });
      for (const x of actors) {
        const file = join(a.outDir, `${s.name}.${v}.${x.name}.${format === 'svg' ? 'svg' : 'mmd'}`);
        writeFileSync(file, `${await draw(chartOf(x.machine), format)}\n`);
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
    out(await draw(chartOf(actors[0].machine), format));
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
      stateDiagram(chartOf(x.machine)),
      '```',
    ])
      out(l);
  }
  return 0;
}
