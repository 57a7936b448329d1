import type { Search, Task, TaskResult } from '../explore/search.ts';
import type { Shard } from './shard.ts';

/**
 * Random and PCT search: execution i is task i, independent of every other one, judged
 * in index order. PCT needs the length of an execution to place its change points: it
 * takes the length of execution 0, so the other executions wait for that one. `mixed`
 * rotates PCT at depths 1, 2 and 3 and random, execution by execution.
 */
export class SamplingSearch implements Search {
  readonly exhausted = false;
  readonly runsAhead = true;
  private issued = 0;
  private judged = 0;
  private firstLength: number | undefined;

  constructor(
    readonly name: 'random' | 'pct' | 'mixed',
    private readonly seed: number,
    private readonly depth = 3,
    /** Under `--shard i/n`, execution j of this shard is execution j·n + i − 1 of the whole. */
    private readonly shard: Shard = { index: 1, count: 1 },
  ) {}

  next(): { id: number; task: Task } | undefined {
    const id = this.issued;
    if (this.name !== 'random' && id > 0 && this.firstLength === undefined) return undefined;
    this.issued++;
    const index = id * this.shard.count + this.shard.index - 1;
    const maxSteps = Math.max(1, this.firstLength ?? 100);
    const depth = this.name === 'mixed' ? (index % 4) + 1 : this.depth;
    const task: Task =
      this.name === 'random' || depth === 4
        ? { kind: 'random', seed: this.seed, index }
        : { kind: 'pct', seed: this.seed, index, depth, maxSteps };
    return { id, task };
  }

  awaiting(): number {
    return this.judged;
  }

  accept(result: TaskResult): void {
    if (result.id === 0) this.firstLength = result.steps;
    this.judged++;
  }
}
