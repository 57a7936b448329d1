import { existsSync, readdirSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ModelError, UsageError } from '../model/errors.ts';
import { type AnyScenario, isScenario } from './define-scenario.ts';

export interface LoadedScenario {
  readonly scenario: AnyScenario;
  /** Absolute path of the module it came from. */
  readonly file: string;
}

export const BUNDLED_DIR = fileURLToPath(new URL('../../scenarios/', import.meta.url));

/** Imports a scenario module; a module that throws or exports no scenario is a load error (exit 3). */
export async function loadScenarioFile(file: string): Promise<LoadedScenario> {
  const abs = resolve(file);
  if (!existsSync(abs)) throw new UsageError(`${file}: no such scenario file`);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
  } catch (e) {
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new ModelError('load', `${file}: the scenario module failed to load: ${msg}`);
  }
  const s = mod.default;
  if (!isScenario(s)) {
    throw new ModelError(
      'load',
      `${file}: the module does not default-export a scenario (export default defineScenario({...}))`,
    );
  }
  const problems = validate(s);
  if (problems) throw new ModelError('invalid', `${file}: scenario '${s.name}': ${problems}`);
  return { scenario: s, file: abs };
}

function validate(s: AnyScenario): string | undefined {
  if (typeof s.name !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(s.name))
    return `bad name '${String(s.name)}' (use lower-case letters, digits and '-')`;
  if (typeof s.memory !== 'function') return 'memory must be a function of the parameters';
  if (typeof s.actors !== 'function') return 'actors must be a function of the parameters';
  if (!s.variants || Object.keys(s.variants).length === 0) return 'it declares no variant';
  for (const [v, spec] of Object.entries(s.variants)) {
    if (spec.expect !== undefined && spec.expect !== 'bug' && spec.expect !== 'pass')
      return `variant '${v}': expect must be 'bug' or 'pass'`;
  }
  if (s.defaultVariant && !s.variants[s.defaultVariant])
    return `defaultVariant '${s.defaultVariant}' is not a variant`;
  return undefined;
}

export function bundledFiles(): string[] {
  return readdirSync(BUNDLED_DIR)
    .filter((f) => /\.(ts|js|mjs)$/.test(f) && !f.startsWith('_') && !f.endsWith('.d.ts'))
    .sort()
    .map((f) => resolve(BUNDLED_DIR, f));
}

/** Every bundled scenario that loads, and the errors of those that do not. */
export async function loadBundled(): Promise<{ scenarios: LoadedScenario[]; errors: ModelError[] }> {
  const scenarios: LoadedScenario[] = [];
  const errors: ModelError[] = [];
  for (const f of bundledFiles()) {
    try {
      scenarios.push(await loadScenarioFile(f));
    } catch (e) {
      if (e instanceof ModelError) errors.push(e);
      else throw e;
    }
  }
  return { scenarios, errors };
}

/** A bundled scenario by name, or a scenario module by path. */
export async function resolveScenario(ref: string): Promise<LoadedScenario> {
  if (/[/\\]|\.(ts|js|mjs)$/.test(ref)) return loadScenarioFile(ref);
  const file = bundledFiles().find((f) => basename(f).replace(/\.(ts|js|mjs)$/, '') === ref);
  if (file) {
    const loaded = await loadScenarioFile(file);
    if (loaded.scenario.name !== ref) {
      throw new ModelError(
        'invalid',
        `${file}: the file is named '${ref}' but the scenario calls itself '${loaded.scenario.name}'`,
      );
    }
    return loaded;
  }
  const known = bundledFiles().map((f) => basename(f).replace(/\.(ts|js|mjs)$/, ''));
  throw new UsageError(
    `unknown scenario '${ref}' (bundled: ${known.join(', ')}; or give a path to a scenario file)`,
  );
}

/** Splits `name:variant`; a Windows drive letter or path is never mistaken for a variant. */
export function splitTarget(target: string): { ref: string; variant?: string } {
  const i = target.lastIndexOf(':');
  if (i <= 1 || /[/\\]/.test(target.slice(i + 1))) return { ref: target };
  return { ref: target.slice(0, i), variant: target.slice(i + 1) };
}
