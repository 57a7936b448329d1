import type { Phase } from '../explore/explore.ts';
import type { Search } from '../explore/search.ts';
import { SamplingSearch } from './sampling-search.ts';
import type { Shard } from './shard.ts';

/** Executions the exhaustive part of the portfolio may use before sampling takes over. */
export const PORTFOLIO_EXHAUSTIVE_SHARE = 5000;

/**
 * The default strategy (DESIGN §2, after Coyote's portfolio): exhaustive DPOR first, up to
 * `share` executions; if that has not covered the space, sampling takes the rest of the
 * run, rotating PCT at depths 1 to 3 and random, so a space too large to finish is still
 * probed away from the corner depth-first search starts in. The split is by execution
 * count, never by time, so the same executions run on any machine.
 */
export function portfolioPhases(
  exhaustive: readonly Search[],
  seed: number,
  shard?: Shard,
  share = PORTFOLIO_EXHAUSTIVE_SHARE,
): Phase[] {
  return [
    { lanes: exhaustive, cap: share },
    { lanes: [new SamplingSearch('mixed', seed, 3, shard)], cap: Number.POSITIVE_INFINITY },
  ];
}
