import { HappensBefore } from '../explore/happens-before.ts';
import { dependent, type Footprint, type Move } from '../runtime/step.ts';

/**
 * A race found in an execution, as the search needs it: at node `node` (before step
 * `node`), one of `candidates` must be explored for the race to be reversed. They are the
 * actors whose first step in v can start it (source-DPOR's I(v)), in the order of v,
 * restricted to those with a move enabled at the node.
 */
export interface RaceFix {
  readonly node: number;
  readonly candidates: readonly string[];
}

/**
 * The race analysis of source-DPOR (Abdulla et al., JACM 2017, Algorithm 1, lines 5-9)
 * for one execution, done where the execution ran so that the search only has to merge
 * the result. For each race (i, j): v = the steps after i that do not follow i, then j.
 * Races with j before `from` were already reported by an earlier execution with the same
 * prefix; acquisitions still waiting at the end count as steps after the last.
 */
export function raceFixes(
  moves: readonly string[],
  footprints: readonly Footprint[],
  waiting: readonly Footprint[],
  enabledAt: readonly (readonly Move[])[],
  rootDepth: number,
  from: number,
): RaceFix[] {
  const n = footprints.length;
  const all = [...footprints, ...waiting];
  const hb = new HappensBefore(all);
  const out: RaceFix[] = [];
  const seen = new Set<string>();
  for (const race of hb.races()) {
    const j = race[1];
    if (j < from) continue;
    const i = lockRace(all, race[0], j);
    if (i === undefined || i < rootDepth || i >= n) continue;
    if (j < n && delivers(moves, footprints, i, j)) continue;
    const enabled = enabledAt[i];
    const candidates = initials(hb, i, j, n)
      .map((k) => hb.actors[hb.actorOf[k]])
      .filter((a) => enabled.some((m) => m.actor === a));
    // Not reversible: step i enabled step j.
    if (candidates.length === 0) continue;
    const key = `${i}:${candidates.join(',')}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ node: i, candidates });
  }
  return out;
}

/**
 * I(v): for each actor whose first step in v (the steps after i that do not follow i,
 * then j) follows no other step of v, that step, in the order of v.
 */
function initials(hb: HappensBefore, i: number, j: number, n: number): number[] {
  const v: number[] = [];
  for (let k = i + 1; k < Math.min(j, n); k++) if (!hb.before(i, k)) v.push(k);
  v.push(j);
  const seen = new Set<number>();
  const out: number[] = [];
  for (let x = 0; x < v.length; x++) {
    const k = v[x];
    const a = hb.actorOf[k];
    if (seen.has(a)) continue;
    seen.add(a);
    let first = true;
    for (let y = 0; y < x && first; y++) if (hb.before(v[y], k)) first = false;
    if (first) out.push(k);
  }
  return out;
}

/**
 * A blocking acquisition can only follow the release it waited for, so that race is
 * never reversed as such: the one to reverse is with the acquisition the release ends
 * (as Nidhugg does for mutexes). Other races are returned unchanged.
 */
function lockRace(fps: readonly Footprint[], i: number, j: number): number | undefined {
  const a = fps[i].object;
  const b = fps[j].object;
  if (a?.type !== 'lock' || b?.type !== 'lock' || !a.access.startsWith('release')) return i;
  if (b.access !== 'shared' && b.access !== 'exclusive') return i;
  for (let k = i - 1; k >= 0; k--) {
    const o = fps[k].object;
    if (fps[k].actor !== fps[i].actor || o?.type !== 'lock' || o.name !== a.name) continue;
    if (o.access.startsWith('release')) return undefined;
    return dependent(fps[k], fps[j]) ? k : undefined;
  }
  return undefined;
}

/** Does step j deliver the very message step i sent? Then j cannot come first: no race to reverse. */
function delivers(moves: readonly string[], fps: readonly Footprint[], i: number, j: number): boolean {
  const a = fps[i].object;
  const b = fps[j].object;
  if (a?.type !== 'mailbox' || a.op !== 'send' || b?.type !== 'mailbox' || b.op !== 'deliver') return false;
  const sender = fps[i].actor;
  const channel = `${a.owner}<${sender}`;
  if (moves[j] !== channel) return false;
  let sent = 0;
  for (let k = 0; k < i; k++) {
    const o = fps[k].object;
    if (fps[k].actor === sender && o?.type === 'mailbox' && o.op === 'send' && o.owner === a.owner) sent++;
  }
  let delivered = 0;
  for (let k = 0; k < j; k++) if (moves[k] === channel) delivered++;
  return delivered === sent;
}
