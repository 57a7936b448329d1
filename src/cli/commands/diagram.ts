import { UsageError } from '../../model/errors.ts';
import { stateDiagram } from '../../report/mermaid-state.ts';
import { chartOf } from '../../report/statechart.ts';
import { defaultVariant, instantiate, parseParams } from '../../scenario/instance.ts';
import { resolveScenario, splitTarget } from '../../scenario/load.ts';

export const DIAGRAM_FORMATS = ['mermaid'] as const;

export interface DiagramArgs {
  readonly target: string;
  /** Only this actor's machine. */
  readonly actor?: string;
  readonly format: string;
  readonly params: readonly string[];
}

/**
 * `vcpusim diagram <scenario>[:<variant>]`: each actor's machine, as the variant runs it,
 * drawn from its xstate definition. One actor (`--actor`): the bare diagram. Several: a
 * Markdown document with a heading and a fenced diagram per actor.
 */
export async function diagramCommand(a: DiagramArgs, out: (s: string) => void): Promise<number> {
  if (!(DIAGRAM_FORMATS as readonly string[]).includes(a.format))
    throw new UsageError(`--format ${a.format}: unknown (formats: ${DIAGRAM_FORMATS.join(', ')})`);
  const { ref, variant } = splitTarget(a.target);
  const s = (await resolveScenario(ref)).scenario;
  const v = variant ?? defaultVariant(s);
  const instance = instantiate(s, v, parseParams(s, a.params));
  const actors = a.actor ? instance.actors.filter((x) => x.name === a.actor) : instance.actors;
  if (actors.length === 0) {
    throw new UsageError(
      `scenario '${s.name}' has no actor '${a.actor}' (actors: ${instance.actors.map((x) => x.name).join(', ')})`,
    );
  }
  if (a.actor) {
    out(stateDiagram(chartOf(actors[0].machine)));
    return 0;
  }
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
