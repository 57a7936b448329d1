import { ModelError } from '../model/errors.ts';
import { dependent, type Footprint, type Move, moveKey, type StepRecord } from '../runtime/step.ts';
import { type RaceFix, raceFixes } from './dpor-races.ts';
import type { ExecutionSummary, Strategy } from './strategy.ts';

/** A move explored (or to be skipped) at a node, with the footprint it had there. */
export interface Sleeper {
  readonly key: string;
  readonly footprint: Footprint;
}

/**
 * One DPOR execution: follow `prefix`, then keep taking the first enabled move that is not
 * asleep. `sleep` is the sleep set after the prefix; with `filterLast` it is still to be
 * filtered by the footprint of the prefix's last step (the backtrack move being tried).
 */
export interface DporBranchTask {
  readonly prefix: readonly string[];
  readonly sleep: readonly Sleeper[];
  readonly filterLast: boolean;
  /** Where the search's own tree starts (a shard's root prefix is not backtracked). */
  readonly rootDepth: number;
  /** The first step not already analysed by an earlier execution with the same prefix. */
  readonly from: number;
}

/** What the search learns from one execution. */
export interface BranchReport {
  /** Footprints of the steps from `from` on (the backtrack move and everything after it). */
  readonly footprints: readonly Footprint[];
  /** The enabled moves at each node the execution created (after the prefix). */
  readonly fresh: readonly (readonly Move[])[];
  readonly races: readonly RaceFix[];
  /** The global state after each step from `from` on. */
  readonly states: readonly number[];
}

/**
 * The per-execution half of DPOR (the search half is DporSearch): it picks moves, then
 * runs the race analysis of the execution it ran. Executions can therefore run anywhere
 * (in process or on a worker), and the search only merges small reports.
 */
export class DporBranch implements Strategy {
  readonly name = 'dpor';
  readonly tracksReads = true;
  readonly hashesStates = true;
  readonly exhausted = false;
  readonly footprints: Footprint[] = [];
  readonly enabledAt: (readonly Move[])[] = [];
  private readonly fresh: (readonly Move[])[] = [];
  private arrival: readonly Sleeper[] | undefined;
  report: BranchReport | undefined;

  constructor(private readonly task: DporBranchTask) {
    if (task.prefix.length === 0) this.arrival = task.sleep;
  }

  begin(): boolean {
    return true;
  }

  /** Resuming from a checkpoint: what the skipped steps of the path recorded. */
  seed(footprints: readonly Footprint[], enabledAt: readonly (readonly Move[])[]): void {
    this.footprints.push(...footprints);
    this.enabledAt.push(...enabledAt);
  }

  pick(enabled: readonly Move[], step: number): Move | undefined {
    this.enabledAt[step] = enabled;
    const prefix = this.task.prefix;
    if (step < prefix.length) {
      const m = enabled.find((e) => moveKey(e) === prefix[step]);
      if (m) return m;
      throw new ModelError(
        'nondeterminism',
        `dpor: re-executing an explored path, move '${prefix[step]}' is not enabled at step ${step + 1} (enabled: ${enabled.map(moveKey).join(', ')}); the model is not deterministic`,
        { step: step + 1 },
      );
    }
    const sleep = this.arrival ?? [];
    const first = enabled.find((m) => !sleep.some((s) => s.key === moveKey(m)));
    if (first) this.fresh.push(enabled);
    return first;
  }

  stepped(record: StepRecord): void {
    const step = record.index - 1;
    const fp = record.footprint;
    this.footprints.push(fp);
    const last = this.task.prefix.length - 1;
    const awake = (s: Sleeper) => !dependent(s.footprint, fp);
    if (step === last) this.arrival = this.task.filterLast ? this.task.sleep.filter(awake) : this.task.sleep;
    else if (step > last) this.arrival = this.arrival!.filter(awake);
  }

  end(summary: ExecutionSummary): void {
    const t = this.task;
    this.report = {
      footprints: this.footprints.slice(t.from),
      fresh: this.fresh,
      races: raceFixes(summary.moves, this.footprints, summary.waiting, this.enabledAt, t.rootDepth, t.from),
      states: summary.states.slice(t.from),
    };
  }
}
