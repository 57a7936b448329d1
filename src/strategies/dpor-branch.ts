import { ModelError } from '../model/errors.ts';
import { dependent, type Footprint, type Move, moveKey, type StepRecord } from '../runtime/step.ts';
import type { Strategy } from './strategy.ts';

/** A move explored (or to be skipped) at a node, with the footprint it had there. */
export interface Sleeper {
  readonly key: string;
  readonly footprint: Footprint;
}

/**
 * One DPOR execution: follow `prefix`, then the `hint` where it can, then keep taking the
 * first enabled move that is not asleep. `sleep` is the sleep set after the prefix; with `filterLast` it is still to be
 * filtered by the footprint of the prefix's last step (the backtrack move being tried).
 */
export interface DporBranchTask {
  readonly prefix: readonly string[];
  /** Moves to prefer after the prefix, in order, where enabled and awake. */
  readonly hint: readonly string[];
  readonly sleep: readonly Sleeper[];
  readonly filterLast: boolean;
}

/** What DPOR needs to know about a node the execution created. */
export interface FreshNode {
  readonly enabled: readonly Move[];
  readonly sleep: readonly Sleeper[];
}

/**
 * The per-execution half of DPOR (the search half is DporSearch): it picks moves and
 * records the footprints and the new nodes, so that the execution can run anywhere (in
 * process or on a worker) and be judged by the search afterwards.
 */
export class DporBranch implements Strategy {
  readonly name = 'dpor';
  readonly tracksReads = true;
  readonly exhausted = false;
  readonly footprints: Footprint[] = [];
  readonly fresh: FreshNode[] = [];
  private arrival: readonly Sleeper[] | undefined;
  private hintAt = 0;

  constructor(private readonly task: DporBranchTask) {
    if (task.prefix.length === 0) this.arrival = task.sleep;
  }

  begin(): boolean {
    return true;
  }

  pick(enabled: readonly Move[], step: number): Move | undefined {
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
    const awake = (m: Move) => !sleep.some((s) => s.key === moveKey(m));
    let first: Move | undefined;
    const hint = this.task.hint;
    while (!first && this.hintAt < hint.length) {
      const want = hint[this.hintAt++];
      first = enabled.find((m) => moveKey(m) === want && awake(m));
    }
    first ??= enabled.find(awake);
    if (first) this.fresh.push({ enabled, sleep });
    return first;
  }

  stepped(record: StepRecord): void {
    const step = record.index - 1;
    const fp = record.footprint;
    this.footprints.push(fp);
    const last = this.task.prefix.length - 1;
    const awake = (s: Sleeper) => !dependent(s.footprint, fp);
    if (step === last) this.arrival = this.task.filterLast ? this.task.sleep.filter(awake) : this.task.sleep;
    // A fresh node's only explored move is the one just taken: its child keeps what slept here.
    else if (step > last) this.arrival = this.fresh[step - last - 1].sleep.filter(awake);
  }

  end(): void {}
}
