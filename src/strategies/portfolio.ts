import type { Search, Task, TaskResult } from '../explore/search.ts';
import { DporSearch } from './dpor.ts';
import { SamplingSearch } from './sampling-search.ts';
import type { MultiRootSearch, Shard } from './shard.ts';

/**
 * The default strategy (DESIGN §2, after Coyote's portfolio): exhaustive DPOR first;
 * if it has not covered the space after `dporFirst` executions, every other execution
 * goes to sampling, rotating PCT (depths 1-3) and random, so a space too large to finish
 * still gets probed away from the corner DFS starts in. The split is by execution count,
 * never by time, so the sequence of executions is the same on any machine.
 */
export class PortfolioSearch implements Search {
  readonly name = 'portfolio';
  private readonly sampling: SamplingSearch;
  private slot = 0;

  constructor(
    seed: number,
    /** The exhaustive part: DPOR from the root, or a shard's parts of it. */
    readonly dpor: DporSearch | MultiRootSearch = new DporSearch(),
    shard?: Shard,
    private readonly dporFirst = 2000,
  ) {
    this.sampling = new SamplingSearch('mixed', seed, 3, shard);
  }

  get exhausted(): boolean {
    return this.dpor.exhausted;
  }

  /** Which search judges result number `slot`. */
  private owner(slot: number): 'dpor' | 'sampling' {
    return slot < this.dporFirst || (slot - this.dporFirst) % 2 === 0 ? 'dpor' : 'sampling';
  }

  next(): { id: number; task: Task } | undefined {
    const order: ('dpor' | 'sampling')[] =
      this.owner(this.slot) === 'dpor' ? ['dpor', 'sampling'] : ['sampling', 'dpor'];
    for (const who of order) {
      if (who === 'sampling' && this.slot < this.dporFirst) continue;
      const t = who === 'dpor' ? this.dpor.next() : this.sampling.next();
      if (t) return { id: t.id * 2 + (who === 'dpor' ? 0 : 1), task: t.task };
    }
    return undefined;
  }

  awaiting(): number | undefined {
    const d = this.dpor.awaiting();
    if (d === undefined) return undefined;
    return this.owner(this.slot) === 'dpor' ? d * 2 : this.sampling.awaiting() * 2 + 1;
  }

  accept(result: TaskResult): void {
    const sub = { ...result, id: Math.floor(result.id / 2) };
    if (result.id % 2 === 0) this.dpor.accept(sub);
    else this.sampling.accept(sub);
    this.slot++;
  }
}
