import { runExecution } from '../explore/run-execution.ts';
import { dependent, type Footprint, type Move, moveKey, type StepRecord } from '../runtime/step.ts';
import type { ScenarioInstance } from '../scenario/instance.ts';
import { type DporRoot, DporSearch } from './dpor.ts';
import type { Sleeper } from './dpor-branch.ts';
import type { Strategy } from './strategy.ts';

export interface Shard {
  /** 1-based. */
  readonly index: number;
  readonly count: number;
}

/** Runs a prefix, then stops and reports what is enabled there. */
class Probe implements Strategy {
  readonly name = 'probe';
  readonly exhausted = false;
  readonly tracksReads = true;
  readonly footprints: Footprint[] = [];
  enabled: readonly Move[] = [];

  constructor(private readonly prefix: readonly string[]) {}

  begin(): boolean {
    return true;
  }

  pick(enabled: readonly Move[], step: number): Move | undefined {
    if (step < this.prefix.length) return enabled.find((m) => moveKey(m) === this.prefix[step]);
    this.enabled = enabled;
    return undefined;
  }

  stepped(record: StepRecord): void {
    this.footprints.push(record.footprint);
  }

  end(): void {}
}

/**
 * Splits the exhaustive search into disjoint parts for `--shard i/n` (DESIGN §2,
 * "Exploration"). The top of the tree is expanded breadth-first with sleep sets only
 * (every awake move is a branch; the sleep set of a branch holds its earlier siblings
 * that it does not disturb), until there are at least `target` nodes or the tree stops
 * growing. Each node becomes the root of its own DPOR search (a lane). Sleep sets make
 * the parts disjoint (no Mazurkiewicz trace is explored by two of them), and every move
 * is expanded, so together they cover the whole space. The split costs one short
 * execution per node.
 */
export function splitRoots(instance: ScenarioInstance, target: number, maxDepth = 16): DporRoot[] {
  const probe = (moves: readonly string[]) => {
    const p = new Probe(moves);
    const r = runExecution(instance, p, 0);
    return { ...p, terminal: !r.blocked || r.moves.length < moves.length };
  };
  let level: { root: DporRoot; open: boolean }[] = [{ root: { moves: [], sleep: [] }, open: true }];
  for (let depth = 0; depth < maxDepth && level.length < target; depth++) {
    if (!level.some((n) => n.open)) break;
    const next: typeof level = [];
    for (const node of level) {
      if (!node.open) {
        next.push(node);
        continue;
      }
      const here = probe(node.root.moves);
      if (here.terminal) {
        next.push({ root: node.root, open: false });
        continue;
      }
      const done: Sleeper[] = [];
      for (const m of here.enabled) {
        const key = moveKey(m);
        if (node.root.sleep.some((s) => s.key === key)) continue;
        const moves = [...node.root.moves, key];
        const fp = probe(moves).footprints[moves.length - 1];
        const sleep = [...node.root.sleep, ...done].filter((s) => !dependent(s.footprint, fp));
        done.push({ key, footprint: fp });
        next.push({ root: { moves, sleep }, open: true });
      }
      // A node whose every move sleeps is covered by its siblings: it has no part of its own.
    }
    level = next;
  }
  return level.map((n) => n.root);
}

/**
 * The exhaustive search's parts. Unsharded, one DPOR search from the root: splitting
 * forces branches DPOR would not take, which costs blocked executions (up to 3 per class
 * on small programs). Under `--shard i/n` the split has at least 4n parts and shard i
 * takes every n-th; it depends only on n, so the n jobs agree on it, and together they
 * explore exactly the classes one unsharded run explores, each once.
 */
export function dporLanes(instance: ScenarioInstance, shard?: Shard): DporSearch[] {
  if (!shard || shard.count <= 1) return [new DporSearch()];
  const roots = splitRoots(instance, PARTS_PER_SHARD * shard.count);
  return roots.filter((_, k) => k % shard.count === shard.index - 1).map((r) => new DporSearch(r));
}

export const PARTS_PER_SHARD = 4;
