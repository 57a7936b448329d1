import { TraceHasher } from '../runtime/hash.ts';
import type { Footprint } from '../runtime/step.ts';
import { HappensBefore } from './happens-before.ts';

/**
 * A name for the Mazurkiewicz trace (the equivalence class) of an execution: its Foata
 * normal form. Each step gets a level, one more than the highest level of a dependent
 * step before it; two interleavings are equivalent exactly when they have the same steps
 * (move and position in their actor's sequence) at the same levels.
 */
export function traceClassKey(moves: readonly string[], footprints: readonly Footprint[]): string {
  const hb = new HappensBefore(footprints);
  const n = moves.length;
  const level = new Int32Array(n);
  const parts: string[] = [];
  for (let j = 0; j < n; j++) {
    let l = 0;
    for (let i = 0; i < j; i++) if (level[i] > l && hb.before(i, j)) l = level[i];
    level[j] = l + 1;
    parts.push(`${level[j]}:${moves[j]}@${hb.localIndex[j]}`);
  }
  parts.sort();
  return new TraceHasher().str(parts.join(' ')).digest();
}
