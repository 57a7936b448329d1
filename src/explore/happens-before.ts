import { dependent, type Footprint } from '../runtime/step.ts';

/**
 * The happens-before order of one execution (Mazurkiewicz, after Flanagan and Godefroid,
 * POPL 2005): step j follows step i when a chain of dependent steps leads from i to j.
 * Kept as one vector clock per step: `clock[j][a]` is the number of steps of actor `a`
 * that happen before or at step j.
 */
export class HappensBefore {
  readonly actors: readonly string[];
  /** Actor index of each step. */
  readonly actorOf: Int32Array;
  /** 1-based position of each step among its actor's steps. */
  readonly localIndex: Int32Array;
  readonly clock: Int32Array[];

  constructor(readonly footprints: readonly Footprint[]) {
    const index = new Map<string, number>();
    const n = footprints.length;
    this.actorOf = new Int32Array(n);
    this.localIndex = new Int32Array(n);
    for (let j = 0; j < n; j++) {
      const a = footprints[j].actor;
      let k = index.get(a);
      if (k === undefined) index.set(a, (k = index.size));
      this.actorOf[j] = k;
    }
    this.actors = [...index.keys()];
    const width = this.actors.length;
    const count = new Int32Array(width);
    this.clock = [];
    for (let j = 0; j < n; j++) {
      const a = this.actorOf[j];
      this.localIndex[j] = ++count[a];
      const c = new Int32Array(width);
      for (let i = j - 1; i >= 0; i--) {
        // Steps already covered by c add nothing; same-actor steps are always dependent.
        if (c[this.actorOf[i]] >= this.localIndex[i]) continue;
        if (dependent(footprints[i], footprints[j])) join(c, this.clock[i]);
      }
      c[a] = this.localIndex[j];
      this.clock.push(c);
    }
  }

  /** Does step i happen before step j (i < j)? */
  before(i: number, j: number): boolean {
    return this.clock[j][this.actorOf[i]] >= this.localIndex[i];
  }

  /**
   * The races of the execution: pairs (i, j), i < j, of dependent steps of different
   * actors with no step in between that i happens before and that happens before j.
   */
  races(): [number, number][] {
    const out: [number, number][] = [];
    const n = this.footprints.length;
    const covered = new Int32Array(this.actors.length);
    for (let j = 1; j < n; j++) {
      covered.fill(0);
      const aj = this.actorOf[j];
      // Walking back, `covered` holds what the later dependent predecessors of j already follow.
      for (let i = j - 1; i >= 0; i--) {
        const ai = this.actorOf[i];
        if (covered[ai] >= this.localIndex[i]) continue;
        if (ai === aj) {
          join(covered, this.clock[i]);
          continue;
        }
        if (!dependent(this.footprints[i], this.footprints[j])) continue;
        out.push([i, j]);
        join(covered, this.clock[i]);
      }
    }
    return out;
  }
}

function join(into: Int32Array, from: Int32Array): void {
  for (let k = 0; k < into.length; k++) if (from[k] > into[k]) into[k] = from[k];
}
