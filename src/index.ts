/**
 * vcpusim's public API: define a scenario with xstate machines whose effects are the
 * operations below, then check it (the same report as `vcpusim check --json`).
 */
export * from './actions/index.ts';
export type { CheckEvent, CheckOptions, Progress } from './explore/check.ts';
export { type CheckTarget, check, checkTargets$ } from './explore/check-targets.ts';
export { atomicUnits, PAGE_SIZE } from './memory/atomic-units.ts';
export { leToBigInt, leToNumber, type PageType, type RegionSpec, toLe } from './memory/guest-memory.ts';
export { ModelError, UsageError } from './model/errors.ts';
export {
  type AccessResult,
  type AccessSync,
  type Bytes,
  type CmpxchgResult,
  DONE_EVENT,
  type DoneEvent,
  type MemoryFault,
  type Operation,
  type OperationResults,
} from './model/operation.ts';
export { result, resultBytes } from './model/results.ts';
export type { CheckReport, VariantReport } from './report/variant-report.ts';
export type { LockKind } from './runtime/locks.ts';
export type { Bug, Move, StepRecord } from './runtime/step.ts';
export type { ActorView, WorldView } from './runtime/world-view.ts';
export {
  type AnyScenario,
  type DeclaredInvariant,
  defineScenario,
  type Invariant,
  type InvariantKind,
  type ParamSpec,
  type ParamValue,
  type Scenario,
  type ScenarioSpec,
  type SeqlockSpec,
  type VariantSpec,
} from './scenario/define-scenario.ts';
