import type { AnyStateMachine } from 'xstate';
import { type CheckerOptions, type CheckerSettings, checkerSettings } from '../checkers/settings.ts';
import { PAGE_SIZE } from '../memory/atomic-units.ts';
import { MemoryImage, type RegionSpec } from '../memory/guest-memory.ts';
import { ModelError, UsageError } from '../model/errors.ts';
import type { LockKind } from '../runtime/locks.ts';
import type { AnyScenario, Invariant, InvariantKind, ParamValue, SeqlockSpec } from './define-scenario.ts';

const INVARIANT_KINDS: readonly InvariantKind[] = ['tracked', 'local', 'stable'];

/** A scenario bound to one variant and one set of parameters: what an execution runs. */
export interface ScenarioInstance {
  readonly scenario: AnyScenario;
  readonly variant: string;
  readonly expect: 'bug' | 'pass';
  readonly params: Readonly<Record<string, ParamValue>>;
  readonly actors: readonly {
    readonly name: string;
    readonly machine: AnyStateMachine;
    readonly input: unknown;
  }[];
  readonly memory: readonly RegionSpec[];
  /** The memory layout and initial contents, built once. */
  readonly image: MemoryImage;
  readonly locks: Readonly<Record<string, LockKind>>;
  readonly invariants: readonly {
    readonly name: string;
    readonly check: Invariant<Record<string, ParamValue>>;
    readonly kind: InvariantKind;
  }[];
  readonly actorSteps: number;
  /** Own steps in a row an actor may take in `hot` states (bounds.hotSteps). */
  readonly hotSteps: number;
  /** Flag-protected regions the race detector knows (SeqlockSpec). */
  readonly seqlocks: readonly SeqlockSpec[];
  /** Which checkers run (src/checkers/settings.ts). */
  readonly checkers: CheckerSettings;
  /** Record which machine transitions executions take (for coverage; `withCoverage`). */
  readonly coverage?: boolean;
}

/** The same instance, with executions recording the transitions they take. */
export function withCoverage(instance: ScenarioInstance): ScenarioInstance {
  return instance.coverage ? instance : { ...instance, coverage: true };
}

export const DEFAULT_ACTOR_STEPS = 10_000;
export const DEFAULT_HOT_STEPS = 1000;

export function variantNames(s: AnyScenario): string[] {
  return Object.keys(s.variants);
}

export function defaultVariant(s: AnyScenario): string {
  return s.defaultVariant ?? variantNames(s)[0];
}

/** Parses `k=v` strings against the scenario's declared parameters. */
export function parseParams(s: AnyScenario, pairs: readonly string[]): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = {};
  const spec = s.params ?? {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--param '${pair}': expected k=v`);
    const key = pair.slice(0, eq);
    const raw = pair.slice(eq + 1);
    const p = spec[key];
    if (!p) {
      const known = Object.keys(spec);
      throw new UsageError(
        `scenario '${s.name}' has no parameter '${key}'${known.length ? ` (it has: ${known.join(', ')})` : ''}`,
      );
    }
    let v: ParamValue;
    if (typeof p.default === 'number') {
      v = Number(raw);
      if (!Number.isFinite(v)) throw new UsageError(`--param ${key}: '${raw}' is not a number`);
    } else if (typeof p.default === 'boolean') {
      if (raw !== 'true' && raw !== 'false')
        throw new UsageError(`--param ${key}: expected true or false, got '${raw}'`);
      v = raw === 'true';
    } else v = raw;
    out[key] = v;
  }
  return out;
}

export function instantiate(
  s: AnyScenario,
  variantName: string,
  overrides: Readonly<Record<string, ParamValue>> = {},
  checkers?: CheckerOptions,
): ScenarioInstance {
  const settings = checkerSettings(checkers);
  const variant = s.variants[variantName];
  if (!variant) {
    throw new UsageError(
      `scenario '${s.name}' has no variant '${variantName}' (it has: ${variantNames(s).join(', ')})`,
    );
  }
  const params: Record<string, ParamValue> = {};
  for (const [k, p] of Object.entries(s.params ?? {})) params[k] = p.default;
  Object.assign(params, variant.params ?? {}, overrides);
  for (const [k, p] of Object.entries(s.params ?? {})) {
    if (p.values && !p.values.includes(params[k])) {
      throw new UsageError(
        `scenario '${s.name}': parameter ${k}=${params[k]} is not one of ${p.values.join(', ')}`,
      );
    }
  }
  const where = `scenario '${s.name}' variant '${variantName}'`;
  const guarded = <T>(what: string, f: () => T): T => {
    try {
      return f();
    } catch (e) {
      if (e instanceof ModelError || e instanceof UsageError) throw e;
      throw new ModelError('invalid', `${where}: ${what} threw: ${(e as Error).message}`);
    }
  };
  const actorSpecs = guarded('actors()', () => s.actors(params as never));
  const names = Object.keys(actorSpecs ?? {});
  if (names.length === 0) throw new ModelError('invalid', `${where}: actors() declares no actor`);
  const provide = variant.provide ?? {};
  const machineIds = new Set<string>();
  const actors = names.map((name) => {
    const spec = actorSpecs[name];
    if (!spec || typeof spec.machine?.provide !== 'function') {
      throw new ModelError('invalid', `${where}: actor '${name}' has no xstate machine`);
    }
    machineIds.add(spec.machine.id);
    const impl = provide[spec.machine.id];
    const machine = impl
      ? spec.machine.provide(impl as Parameters<AnyStateMachine['provide']>[0])
      : spec.machine;
    return { name, machine, input: spec.input };
  });
  for (const id of Object.keys(provide)) {
    if (!machineIds.has(id)) {
      throw new ModelError('invalid', `${where}: provide names machine '${id}', which no actor runs`);
    }
  }
  const memory = guarded('memory()', () => s.memory(params as never));
  let image: MemoryImage;
  try {
    image = new MemoryImage(memory);
  } catch (e) {
    throw new ModelError('invalid', `${where}: ${(e as Error).message}`);
  }
  const hotSteps = s.bounds?.hotSteps ?? DEFAULT_HOT_STEPS;
  if (!Number.isSafeInteger(hotSteps) || hotSteps < 1) {
    throw new ModelError(
      'invalid',
      `${where}: bounds.hotSteps must be a positive integer, got ${JSON.stringify(hotSteps)}`,
    );
  }
  const seqlocks = guarded('seqlocks()', () => s.seqlocks?.(params as never) ?? []);
  validateSeqlocks(where, seqlocks, image);
  return {
    scenario: s,
    variant: variantName,
    expect: variant.expect ?? 'pass',
    params,
    actors,
    memory,
    image,
    locks: guarded('locks()', () => s.locks?.(params as never) ?? {}),
    invariants: Object.entries(s.invariants ?? {}).map(([name, inv]) => {
      const declared = typeof inv === 'function' ? { check: inv } : inv;
      if (typeof declared?.check !== 'function') {
        throw new ModelError('invalid', `${where}: invariant '${name}' is neither a function nor { check }`);
      }
      if (declared.kind !== undefined && !INVARIANT_KINDS.includes(declared.kind)) {
        throw new ModelError(
          'invalid',
          `${where}: invariant '${name}' has kind '${declared.kind}'; expected ${INVARIANT_KINDS.join(', ')}`,
        );
      }
      return {
        name,
        check: declared.check as Invariant<Record<string, ParamValue>>,
        kind: declared.kind ?? 'tracked',
      };
    }),
    actorSteps: s.bounds?.actorSteps ?? DEFAULT_ACTOR_STEPS,
    hotSteps,
    seqlocks,
    checkers: settings,
  };
}

function validateSeqlocks(where: string, seqlocks: readonly SeqlockSpec[], image: MemoryImage): void {
  if (!Array.isArray(seqlocks)) throw new ModelError('invalid', `${where}: seqlocks() must return an array`);
  const declared = (a: number) => image.pages.has(Math.floor(a / PAGE_SIZE));
  const isAddr = (a: unknown): a is number => Number.isSafeInteger(a) && (a as number) >= 0;
  for (const q of seqlocks) {
    const name = `seqlock '${q?.name}'`;
    if (!isAddr(q?.flag?.addr) || !declared(q.flag.addr))
      throw new ModelError(
        'invalid',
        `${where}: ${name}: flag.addr is not an address in the declared memory`,
      );
    if (!Number.isInteger(q.flag.mask) || q.flag.mask < 1 || q.flag.mask > 0xff)
      throw new ModelError('invalid', `${where}: ${name}: flag.mask must be an integer from 1 to 0xff`);
    if (!isAddr(q.data?.addr) || !Number.isSafeInteger(q.data.len) || q.data.len < 1)
      throw new ModelError('invalid', `${where}: ${name}: data must be { addr, len } with len ≥ 1`);
    if (!declared(q.data.addr) || !declared(q.data.addr + q.data.len - 1))
      throw new ModelError('invalid', `${where}: ${name}: data is not inside the declared memory`);
  }
}
