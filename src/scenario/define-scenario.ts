import type { AnyStateMachine } from 'xstate';
import type { RegionSpec } from '../memory/guest-memory.ts';
import type { LockKind } from '../runtime/locks.ts';
import type { WorldView } from '../runtime/world-view.ts';

/**
 * A scenario (DESIGN §1, "Scenarios"): memory layout, actors, invariants, bounds and named
 * variants. A variant swaps implementations of named actions or guards with xstate's own
 * `machine.provide()`, so buggy and fixed code sit side by side under one name.
 */
export type ParamValue = number | string | boolean;

export interface ParamSpec<T extends ParamValue = ParamValue> {
  readonly default: T;
  /** When given, the only values accepted. */
  readonly values?: readonly T[];
  readonly description?: string;
}

type Widen<T> = T extends number ? number : T extends boolean ? boolean : string;
export type ParamValues<T extends Record<string, ParamSpec>> = { [K in keyof T]: Widen<T[K]['default']> };

export interface ActorSpec {
  readonly machine: AnyStateMachine;
  readonly input?: unknown;
}

/** An invariant returns a message when it is broken, and nothing (or true) when it holds. */
export type Invariant<P> = {
  // Method syntax keeps the parameter bivariant, so any scenario fits AnyScenario.
  check(view: WorldView, params: P): string | undefined | boolean | void;
}['check'];

/**
 * An invariant with a declaration of what its verdict depends on, for exhaustive search
 * with partial-order reduction (DPOR), which runs one interleaving per equivalence class
 * and so does not pass through every intermediate global state:
 * - `tracked` (the default, and what a bare function is): it may read anything. What it
 *   reads after a step counts as read by that step, so DPOR orders the step against
 *   every step that changes it. Sound for any invariant; it explores more.
 * - `local`: its verdict is a function of one actor's state and context at a time, or of
 *   the step just taken (`lastStep` and the bytes it accessed). Every equivalent
 *   interleaving takes each actor through the same contexts, so nothing needs ordering.
 * - `stable`: once broken it stays broken in every continuation (it judges append-only
 *   logs or a failure flag never cleared), so the end state of every explored
 *   interleaving still breaks it.
 * A wrong declaration can hide a bug from DPOR (random and PCT search check every state).
 */
export interface DeclaredInvariant<P> {
  readonly check: Invariant<P>;
  readonly kind?: InvariantKind;
}

export type InvariantKind = 'tracked' | 'local' | 'stable';

export interface Implementations {
  readonly actions?: Record<string, unknown>;
  readonly guards?: Record<string, unknown>;
}

export interface VariantSpec<P> {
  readonly description: string;
  /** What the checker must find: `bug` for a variant that models a known bug. */
  readonly expect?: 'bug' | 'pass';
  /** Parameter values this variant fixes (the user may still override them). */
  readonly params?: Partial<P>;
  /** Implementations to swap in, per machine id. */
  readonly provide?: Readonly<Record<string, Implementations>>;
}

export interface Bounds {
  /** Steps any one actor may take in one execution before the run is declared out of bounds. */
  readonly actorSteps?: number;
  /** Steps an actor may take in a row in states tagged `hot` before it is a liveness bug. */
  readonly hotSteps?: number;
}

/**
 * A region written under a flag, seqlock-style (e.g. the runstate area's
 * XEN_RUNSTATE_UPDATE bit, domain-facts §2.3): readers copy the data with `racy` reads
 * and validate the copy against the flag. A write into `data` is covered when the flag
 * bit is set just before or just after it; a `racy` read concurrent with a write that was
 * not covered is a race.
 */
export interface SeqlockSpec {
  readonly name: string;
  /** The byte holding the flag, and the flag's bit(s) in it. */
  readonly flag: { readonly addr: number; readonly mask: number };
  readonly data: { readonly addr: number; readonly len: number };
}

export interface ScenarioSpec<TParams extends Record<string, ParamSpec>> {
  readonly name: string;
  /** The seed document the scenario comes from (shared/seeds/NNN_…). */
  readonly seed?: string;
  readonly description: string;
  readonly params?: TParams;
  memory(params: ParamValues<TParams>): readonly RegionSpec[];
  locks?(params: ParamValues<TParams>): Readonly<Record<string, LockKind>>;
  /** Flag-protected regions the race detector knows (SeqlockSpec). */
  seqlocks?(params: ParamValues<TParams>): readonly SeqlockSpec[];
  actors(params: ParamValues<TParams>): Readonly<Record<string, ActorSpec>>;
  readonly invariants?: Readonly<
    Record<string, Invariant<ParamValues<TParams>> | DeclaredInvariant<ParamValues<TParams>>>
  >;
  readonly bounds?: Bounds;
  /** The variant `run` uses when none is named; the first variant otherwise. */
  readonly defaultVariant?: string;
  readonly variants: Readonly<Record<string, VariantSpec<ParamValues<TParams>>>>;
}

export const SCENARIO_BRAND = Symbol.for('vcpusim.scenario');

export type Scenario<TParams extends Record<string, ParamSpec> = Record<string, ParamSpec>> =
  ScenarioSpec<TParams> & { readonly [SCENARIO_BRAND]: true };

export type AnyScenario = Scenario<Record<string, ParamSpec>>;

export function defineScenario<const TParams extends Record<string, ParamSpec> = Record<string, never>>(
  spec: ScenarioSpec<TParams>,
): Scenario<TParams> {
  return { ...spec, [SCENARIO_BRAND]: true };
}

export function isScenario(v: unknown): v is AnyScenario {
  return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[SCENARIO_BRAND] === true;
}
