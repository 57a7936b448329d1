import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ALL_CHECKERS, CHECKER_NAMES, type CheckerSettings, isCheckerName } from '../checkers/settings.ts';
import { ModelError, UsageError } from '../model/errors.ts';
import type { Bug, StepRecord } from '../runtime/step.ts';
import type { ParamValue } from '../scenario/define-scenario.ts';
import { VERSION } from '../version.ts';

/**
 * The self-describing trace file (DESIGN §2, "Counterexamples"): everything `vcpusim
 * replay FILE` needs, with no other flag: tool version, scenario and its file, variant,
 * parameters, the settings of the run that found it, and every decision by actor and
 * channel identity, with what each step did.
 */
export const TRACE_FORMAT = 'vcpusim-trace';
export const TRACE_VERSION = 1;

export interface TraceStep {
  readonly index: number;
  readonly move: string;
  readonly actor: string;
  readonly what: string;
  readonly state: string;
}

/**
 * An execution whose lock orders complete the trace's lock-order inversion (one across
 * executions, as lockdep reports them), up to the step that records the last of its
 * `orders`: replay runs it first, checks that it records them, and starts the trace's
 * own execution with them.
 */
export interface TraceWitness {
  readonly schedule: string;
  /** The orders of the cycle it records (src/checkers/lock-order.ts, edgeKey). */
  readonly orders: readonly string[];
  readonly traceHash: string;
  readonly steps: readonly TraceStep[];
}

export interface TraceFile {
  readonly format: typeof TRACE_FORMAT;
  readonly version: typeof TRACE_VERSION;
  readonly tool: { readonly name: 'vcpusim'; readonly version: string };
  readonly scenario: { readonly name: string; readonly file?: string; readonly seed?: string };
  readonly variant: string;
  readonly expect: 'bug' | 'pass';
  readonly params: Readonly<Record<string, ParamValue>>;
  readonly settings: Readonly<Record<string, unknown>>;
  readonly execution: number;
  readonly bug: Bug | null;
  readonly traceHash: string;
  /** The schedule as one line of move keys, the compact form. */
  readonly schedule: string;
  readonly steps: readonly TraceStep[];
  /** A lock-order inversion across executions: the other executions, witness 1 first. */
  readonly witnesses?: readonly TraceWitness[];
}

const traceSteps = (records: readonly StepRecord[]): TraceStep[] =>
  records.map((r) => ({ index: r.index, move: r.move, actor: r.actor, what: r.what, state: r.stateAfter }));

export function makeTrace(args: {
  scenario: TraceFile['scenario'];
  variant: string;
  expect: 'bug' | 'pass';
  params: Readonly<Record<string, ParamValue>>;
  settings: Readonly<Record<string, unknown>>;
  execution: number;
  bug: Bug | undefined;
  traceHash: string;
  records: readonly StepRecord[];
  witnesses?: readonly {
    readonly orders: readonly string[];
    readonly traceHash: string;
    readonly records: readonly StepRecord[];
  }[];
}): TraceFile {
  return {
    format: TRACE_FORMAT,
    version: TRACE_VERSION,
    tool: { name: 'vcpusim', version: VERSION },
    scenario: args.scenario,
    variant: args.variant,
    expect: args.expect,
    params: args.params,
    settings: args.settings,
    execution: args.execution,
    bug: args.bug ?? null,
    traceHash: args.traceHash,
    schedule: args.records.map((r) => r.move).join(' '),
    steps: traceSteps(args.records),
    ...(args.witnesses?.length
      ? {
          witnesses: args.witnesses.map((w) => ({
            schedule: w.records.map((r) => r.move).join(' '),
            orders: w.orders,
            traceHash: w.traceHash,
            steps: traceSteps(w.records),
          })),
        }
      : {}),
  };
}

export function writeTrace(file: string, trace: TraceFile): void {
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(trace, null, 2) + '\n');
  } catch (e) {
    throw new UsageError(
      `${file}: cannot write the trace file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
}

export function readTrace(file: string): TraceFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ModelError(
      'load',
      `${file}: cannot read the trace file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  let t: TraceFile;
  try {
    t = JSON.parse(text) as TraceFile;
  } catch (e) {
    throw new ModelError('load', `${file}: not a trace file: invalid JSON (${(e as Error).message})`);
  }
  if (t?.format !== TRACE_FORMAT)
    throw new ModelError('load', `${file}: not a vcpusim trace file (no "format": "${TRACE_FORMAT}")`);
  if (t.version !== TRACE_VERSION) {
    throw new ModelError(
      'load',
      `${file}: trace format version ${t.version} is not supported (this vcpusim reads version ${TRACE_VERSION})`,
    );
  }
  if (
    typeof t.scenario?.name !== 'string' ||
    typeof t.variant !== 'string' ||
    typeof t.schedule !== 'string'
  ) {
    throw new ModelError('load', `${file}: trace file lacks scenario, variant or schedule`);
  }
  if (t.witnesses !== undefined) {
    const ok =
      Array.isArray(t.witnesses) &&
      t.witnesses.every(
        (w) =>
          typeof w?.schedule === 'string' &&
          Array.isArray(w.orders) &&
          w.orders.every((o: unknown) => typeof o === 'string') &&
          Array.isArray(w.steps),
      );
    if (!ok) {
      throw new ModelError(
        'load',
        `${file}: witnesses must be a list of executions, each with a schedule, orders and steps`,
      );
    }
  }
  return t;
}

/**
 * The checkers the trace was recorded with (`settings.checkers`). A trace from before the
 * setting existed ran every checker there was, and replays with all of them on.
 */
export function traceCheckers(file: string, t: TraceFile): CheckerSettings {
  const c = t.settings?.checkers;
  if (c === undefined) return ALL_CHECKERS;
  const bad = () =>
    new ModelError(
      'load',
      `${file}: settings.checkers must map checker names (${CHECKER_NAMES.join(', ')}) to true or false`,
    );
  if (typeof c !== 'object' || c === null || Array.isArray(c)) throw bad();
  const out: Record<string, boolean> = { ...ALL_CHECKERS };
  for (const [k, v] of Object.entries(c)) {
    if (!isCheckerName(k) || typeof v !== 'boolean') throw bad();
    out[k] = v;
  }
  return out as CheckerSettings;
}
