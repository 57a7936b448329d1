import { relative } from 'node:path';
import { defaultVariant } from '../../scenario/instance.ts';
import { loadBundled } from '../../scenario/load.ts';

/** `vcpusim list [--json]`: the bundled scenarios, their variants, expectations and parameters. */
export async function listCommand(json: boolean, out: (s: string) => void): Promise<number> {
  const { scenarios, errors } = await loadBundled();
  if (json) {
    out(
      JSON.stringify(
        {
          scenarios: scenarios.map(({ scenario: s, file }) => ({
            name: s.name,
            seed: s.seed,
            description: s.description,
            file: relative(process.cwd(), file),
            defaultVariant: defaultVariant(s),
            params: Object.fromEntries(
              Object.entries(s.params ?? {}).map(([k, p]) => [
                k,
                { default: p.default, values: p.values, description: p.description },
              ]),
            ),
            variants: Object.entries(s.variants).map(([name, v]) => ({
              name,
              expect: v.expect ?? 'pass',
              description: v.description,
            })),
          })),
          errors: errors.map((e) => ({ kind: e.kind, message: e.message })),
        },
        null,
        2,
      ),
    );
  } else {
    for (const { scenario: s } of scenarios) {
      out(`${s.name}${s.seed ? `  (seed ${s.seed})` : ''}`);
      out(`  ${s.description}`);
      const w = Math.max(...Object.keys(s.variants).map((v) => v.length));
      for (const [name, v] of Object.entries(s.variants)) {
        const mark = name === defaultVariant(s) ? '*' : ' ';
        out(
          `  ${mark} ${s.name}:${name.padEnd(w)}  expect ${(v.expect ?? 'pass').padEnd(4)}  ${v.description}`,
        );
      }
      for (const [k, p] of Object.entries(s.params ?? {})) {
        out(
          `    --param ${k}=${p.default}${p.values ? ` (${p.values.join('|')})` : ''}${p.description ? `  ${p.description}` : ''}`,
        );
      }
      out('');
    }
    for (const e of errors) out(`error: ${e.message}`);
  }
  return errors.length ? 3 : 0;
}
