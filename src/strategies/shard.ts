import { runExecution } from '../explore/run-execution.ts';
import type { Search, Task, TaskResult } from '../explore/search.ts';
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
 * that it does not disturb), until there are at least `perShard × n` nodes or the tree
 * stops growing. Each node becomes the root of its own DPOR search, and node k belongs
 * to shard k mod n. Sleep sets make the parts disjoint (no Mazurkiewicz trace is
 * explored by two of them), and every move is expanded, so together they cover what one
 * unsharded run covers. The split costs one short execution per node.
 */
export function splitRoots(
  instance: ScenarioInstance,
  count: number,
  perShard = 4,
  maxDepth = 16,
): DporRoot[] {
  const probe = (moves: readonly string[]) => {
    const p = new Probe(moves);
    const r = runExecution(instance, p, 0);
    return { ...p, terminal: !r.blocked || r.moves.length < moves.length };
  };
  let level: { root: DporRoot; open: boolean }[] = [{ root: { moves: [], sleep: [] }, open: true }];
  for (let depth = 0; depth < maxDepth && level.length < perShard * count; depth++) {
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

/** The roots of one shard. */
export function shardRoots(instance: ScenarioInstance, shard: Shard): DporRoot[] {
  return splitRoots(instance, shard.count).filter((_, k) => k % shard.count === shard.index - 1);
}

/** DPOR over several roots in turn (a shard's parts); exhausted when every part is. */
export class MultiRootSearch implements Search {
  readonly name = 'dpor';
  private readonly searches: DporSearch[];
  private at = 0;
  /** Ids handed out by the searches before the current one. */
  private offset = 0;

  constructor(roots: readonly DporRoot[]) {
    this.searches = roots.map((r) => new DporSearch(r));
  }

  get exhausted(): boolean {
    return this.searches.every((s) => s.exhausted);
  }
  get complete(): number {
    return this.searches.reduce((n, s) => n + s.complete, 0);
  }
  get blocked(): number {
    return this.searches.reduce((n, s) => n + s.blocked, 0);
  }

  private current(): DporSearch | undefined {
    while (this.at < this.searches.length && this.searches[this.at].awaiting() === undefined) {
      this.offset += this.searches[this.at].handedOut;
      this.at++;
    }
    return this.searches[this.at];
  }

  next(): { id: number; task: Task } | undefined {
    const s = this.current();
    const t = s?.next();
    return t && { id: t.id + this.offset, task: t.task };
  }

  awaiting(): number | undefined {
    const s = this.current();
    const id = s?.awaiting();
    return id === undefined ? undefined : id + this.offset;
  }

  accept(result: TaskResult): void {
    this.current()!.accept({ ...result, id: result.id - this.offset });
  }
}
