import { type LockEdge, newOrders } from '../checkers/lock-order.ts';
import { LockOrderAcross, type LockWitness } from '../checkers/lock-order-across.ts';
import type { ScenarioInstance } from '../scenario/instance.ts';
import { DporSearch } from '../strategies/dpor.ts';
import { runTask } from './run-task.ts';
import type { Search, TaskResult } from './search.ts';
import { shareDpor } from './share-dpor.ts';
import type { RunnerStats } from './work-sharing.ts';
import type { WorkerTarget } from './worker.ts';
import type { WorkerPool } from './worker-pool.ts';

export type StopReason = 'exhausted' | 'bug' | 'max-schedules' | 'budget' | 'interrupted';

/**
 * A phase of exploration: independent searches ("lanes") whose executions count in lane
 * order, lane 0's first, up to `cap` executions in all. Lanes run at the same time on a
 * pool, but whatever ends the phase (a bug, the cap, exhaustion) is decided in that
 * order, so the outcome does not depend on the number of workers.
 */
export interface Phase {
  readonly lanes: readonly Search[];
  readonly cap: number;
}

export interface ExploreOptions {
  readonly maxSchedules: number;
  readonly budgetMs: number;
  readonly signal?: AbortSignal;
  /** Run executions on this pool (the scenario must come from a file the workers can load). */
  readonly pool?: { readonly pool: WorkerPool; readonly target: WorkerTarget };
  /** Called with every judged result, in the order judged (on a pool, the exhaustive search's first only). */
  readonly onResult?: (r: TaskResult, judged: number) => void;
  /** Executions run so far, and how many were complete executions of the exhaustive search. */
  readonly onProgress?: (schedules: number, classes: number) => void;
}

export interface ExploreOutcome {
  readonly stop: StopReason;
  /** Executions that count (the lane-order prefix up to the stop), their steps, and how many were blocked. */
  readonly schedules: number;
  readonly steps: number;
  readonly blocked: number;
  /** The first bug in lane order. */
  readonly bug?: Judged;
  /** Complete executions of the exhaustive search (Mazurkiewicz traces) among those counted. */
  readonly classes: number;
  /** Distinct global states the counted executions of the exhaustive search reached. */
  readonly states: number;
  /** Every phase was exhausted: the space is covered. */
  readonly exhausted: boolean;
  readonly elapsedMs: number;
  /** The graph across the counted executions' lock orders (lock-order checker on). */
  readonly lockOrders?: LockOrderAcross;
  /** With a coverage instance: the transitions the counted executions took. */
  readonly covered?: ReadonlySet<string>;
}

/** What is kept of a judged execution: enough to count it, and the schedule of a bug. */
export interface Judged {
  readonly id: number;
  readonly kind: TaskResult['task']['kind'];
  readonly steps: number;
  readonly blocked: boolean;
  readonly bug?: TaskResult['bug'];
  /** The schedule, of a bug or of an execution with new lock orders. */
  readonly moves?: readonly string[];
  /** Global states its new steps reached (exhaustive searches). */
  readonly states?: readonly number[];
  /** The lock orders no earlier execution of its lane recorded. */
  readonly lockEdges?: readonly LockEdge[];
  /** A lock-order inversion across executions: the earlier executions it needs. */
  readonly witnesses?: readonly LockWitness[];
  /** The transitions no earlier execution of its lane took (coverage). */
  readonly covered?: readonly string[];
}

interface Lane {
  readonly search: Search;
  readonly judged: Judged[];
  /** Local id → global id, for the executions handed out. */
  readonly ids: Map<number, number>;
  done: boolean;
  /** One of its judged results is a bug. */
  bug: boolean;
  /** Keys of the lock orders its judged results carry. */
  readonly orders: Set<string>;
  /** The transitions its judged results carry. */
  readonly taken: Set<string>;
}

/** What is kept of an execution of `lane`: a bug's schedule, and lock orders new to the lane with theirs. */
function keep(
  lane: Lane,
  r: Pick<Judged, 'bug' | 'moves' | 'lockEdges' | 'covered'>,
): Pick<Judged, 'bug' | 'moves' | 'lockEdges' | 'covered'> {
  const fresh = newOrders(r.lockEdges, lane.orders);
  const taken = (r.covered ?? []).filter((t) => !lane.taken.has(t));
  for (const t of taken) lane.taken.add(t);
  return {
    ...(r.bug ? { bug: r.bug } : {}),
    ...(r.bug || fresh.length > 0 ? { moves: r.moves } : {}),
    ...(fresh.length > 0 ? { lockEdges: fresh } : {}),
    ...(taken.length > 0 ? { covered: taken } : {}),
  };
}

/** What the lanes of a phase have decided so far. */
type Verdict =
  | { readonly kind: 'open' }
  | { readonly kind: 'bug'; readonly counted: Judged[]; readonly bug: Judged }
  | { readonly kind: 'cap'; readonly counted: Judged[] }
  | { readonly kind: 'exhausted'; readonly counted: Judged[] };

function distinct(results: readonly Judged[]): number {
  const set = new Set<number>();
  for (const r of results) for (const h of r.states ?? []) set.add(h);
  return set.size;
}

/**
 * Decides a phase's verdict as its lanes' judged results come in. Lanes only grow and
 * only become done, so it walks each result once, in lane order, where a fresh walk per
 * judged result would make a long run quadratic. That order is also the one the lock
 * orders of the counted executions reach the graph across executions in.
 */
class Decider {
  private readonly counted: Judged[] = [];
  private lane = 0;
  private at = 0;

  constructor(
    private readonly lanes: readonly Lane[],
    private readonly cap: number,
    private readonly across: LockOrderAcross | undefined,
    private readonly covered: Set<string> | undefined,
  ) {}

  decide(): Verdict {
    const { counted, lanes, cap } = this;
    for (; this.lane < lanes.length; this.lane++, this.at = 0) {
      const lane = lanes[this.lane];
      for (; this.at < lane.judged.length; this.at++) {
        if (counted.length === cap) return { kind: 'cap', counted };
        const r = lane.judged[this.at];
        counted.push(r);
        if (this.covered) for (const t of r.covered ?? []) this.covered.add(t);
        if (r.bug) return { kind: 'bug', counted, bug: r };
        const inv = r.lockEdges && this.across?.judge(r.lockEdges, r.moves ?? []);
        if (inv) {
          const bug = { ...r, bug: inv.bug, witnesses: inv.witnesses };
          counted[counted.length - 1] = bug;
          return { kind: 'bug', counted, bug };
        }
      }
      if (!lane.done) return counted.length >= cap ? { kind: 'cap', counted } : { kind: 'open' };
    }
    return { kind: 'exhausted', counted };
  }
}

/**
 * Drives the searches (DESIGN §2, "Exploration"): hands their executions to the worker
 * pool, or runs them in process, and feeds each lane its results in the order it asks
 * for them. Stops at the first bug, when every phase is exhausted, at the schedule limit
 * or the time budget, or on abort. In process it yields to the event loop every 50 ms,
 * so progress and Ctrl-C get through. On a pool, a phase of DPOR lanes is shared between
 * the threads a subtree at a time (src/explore/share-dpor.ts), and its lanes' results
 * are then judged here as if they had run in process.
 */
export async function explore(
  instance: ScenarioInstance,
  phases: readonly Phase[],
  options: ExploreOptions,
): Promise<ExploreOutcome> {
  const started = performance.now();
  const ready = new Map<number, TaskResult>();
  const inflight = new Map<number, Promise<void>>();
  let failure: unknown;
  let nextGlobal = 0;
  let judged = 0;
  let sliceEnd = started + 50;
  // The main thread runs executions too: a pool of n threads makes n + 1 runners.
  const workers = (options.pool?.pool.size ?? 0) + 1;
  const cap = options.pool ? options.pool.pool.size * 2 : 0;
  const before: Judged[] = [];
  // One lock-order graph across every execution that counts, phase after phase.
  const across = instance.checkers['lock-order'] ? new LockOrderAcross() : undefined;
  // Coverage, likewise, is what the executions that count took.
  const covered = instance.coverage ? new Set<string>() : undefined;
  const total = (counted: readonly Judged[]) => {
    const all = [...before, ...counted];
    return {
      schedules: all.length,
      steps: all.reduce((n, r) => n + r.steps, 0),
      blocked: all.filter((r) => r.blocked).length,
      classes: all.filter((r) => !r.blocked && r.kind === 'dpor').length,
      states: distinct(all),
    };
  };
  const end = (stop: StopReason, counted: readonly Judged[], bug?: Judged, exhausted = false) => ({
    stop,
    ...total(counted),
    bug,
    exhausted,
    elapsedMs: performance.now() - started,
    lockOrders: across,
    covered,
  });
  let classes = 0;
  try {
    for (const phase of phases) {
      const lanes: Lane[] = phase.lanes.map((search) => ({
        search,
        judged: [],
        ids: new Map(),
        done: false,
        bug: false,
        orders: new Set<string>(),
        taken: new Set<string>(),
      }));
      const limit = Math.min(phase.cap, options.maxSchedules - before.length);
      const decider = new Decider(lanes, limit, across, covered);
      const searches = phase.lanes.filter((l) => l instanceof DporSearch);
      if (options.pool && searches.length > 0 && searches.length === lanes.length) {
        // The exhaustive search shares subtrees between threads rather than executions.
        const base = { schedules: before.length, classes };
        const shared = await shareDpor(
          instance,
          searches.map((s) => s.root),
          limit,
          {
            ...options.pool,
            signal: options.signal,
            deadline: started + options.budgetMs,
            onFirst: (r) => options.onResult?.(r, base.schedules + 1),
            onProgress: (ran, complete) =>
              options.onProgress?.(base.schedules + ran, base.classes + complete),
          },
        );
        if (shared.kind === 'stopped') {
          // Everything every thread ran: a stopped run's counts cannot follow one order.
          const sum = (f: (s: RunnerStats) => number) => shared.stats.reduce((n, s) => n + f(s), 0);
          const states = new Set(before.flatMap((r) => r.states ?? []));
          for (const s of shared.stats) for (const h of s.states) states.add(h);
          const found = shared.stats.find((s) => s.bug)?.bug;
          return {
            stop: shared.reason,
            schedules: before.length + sum((s) => s.ran),
            steps: before.reduce((n, r) => n + r.steps, 0) + sum((s) => s.steps),
            blocked: before.filter((r) => r.blocked).length + sum((s) => s.blocked),
            classes: classes + sum((s) => s.complete),
            states: states.size,
            ...(found
              ? { bug: { id: -1, kind: 'dpor', steps: found.moves.length, blocked: false, ...found } }
              : {}),
            exhausted: false,
            elapsedMs: performance.now() - started,
          };
        }
        lanes.forEach((lane, k) => {
          for (const e of shared.logs[k].entries) {
            lane.judged.push({
              id: judged++,
              kind: 'dpor',
              steps: e.steps,
              blocked: e.blocked,
              states: e.states,
              ...keep(lane, e),
            });
            if (e.bug) lane.bug = true;
          }
          // A lane cut at the cap is not done: the phase ends there, as it would on one thread.
          lane.done = shared.logs[k].stopped !== 'cap';
        });
      }
      for (;;) {
        const all = () => lanes.flatMap((l) => l.judged);
        if (options.signal?.aborted) return end('interrupted', all());
        if (performance.now() - started >= options.budgetMs) return end('budget', all());
        const v = decider.decide();
        if (v.kind === 'bug') return end('bug', v.counted, v.bug);
        if (v.kind === 'cap') {
          if (before.length + v.counted.length >= options.maxSchedules)
            return end('max-schedules', v.counted);
          before.push(...v.counted);
          break;
        }
        if (v.kind === 'exhausted') return end('exhausted', v.counted, undefined, true);
        // Lanes in order; each may run no more than the cap leaves after the lanes before it.
        let earlier = 0;
        const active: { lane: Lane; want: number }[] = [];
        // In process one lane at a time, in order: nothing runs that might not count.
        const most = options.pool ? workers + 1 : 1;
        for (const lane of lanes) {
          if (earlier >= limit || active.length >= most) break;
          if (!lane.done) {
            const want = lane.search.awaiting();
            if (want === undefined || lane.judged.length >= limit - earlier) lane.done = true;
            else active.push({ lane, want });
          }
          earlier += lane.judged.length;
          // Nothing after a bug can count.
          if (lane.bug) break;
        }
        if (active.length === 0) continue;
        // The main thread runs the first lane's awaited execution itself (no round trip on
        // the critical path); the pool runs everything the lanes can hand out ahead of it.
        const run = (lane: Lane, local: boolean) => {
          const t = lane.search.next();
          if (!t) return false;
          const id = nextGlobal++;
          lane.ids.set(t.id, id);
          if (local || !options.pool) {
            const r = runTask(instance, t.id, t.task);
            lane.search.peek?.(r);
            ready.set(id, r);
            return true;
          }
          const { pool, target } = options.pool;
          const p = pool.run({ target, id: t.id, task: t.task }).then(
            (r) => {
              lane.search.peek?.(r);
              ready.set(id, r);
              inflight.delete(id);
            },
            (e) => {
              failure ??= e;
              inflight.delete(id);
            },
          );
          inflight.set(id, p);
          return true;
        };
        const has = (lane: Lane, local: number) => {
          const id = lane.ids.get(local);
          return id !== undefined && (ready.has(id) || inflight.has(id));
        };
        const [head, ...rest] = active;
        if (!has(head.lane, head.want)) run(head.lane, true);
        // Its awaited execution is on a worker: rather than wait, run one ahead here.
        else if (head.lane.search.runsAhead && inflight.has(head.lane.ids.get(head.want)!))
          run(head.lane, true);
        if (options.pool) {
          // Other lanes' awaited executions keep the pool busy and each thread on one lane
          // (their checkpoints then serve the next execution); run ahead only if they do not.
          for (const { lane, want } of rest) if (inflight.size < cap && !has(lane, want)) run(lane, false);
          for (let more = true; more && inflight.size < options.pool.pool.size; ) {
            more = false;
            for (const { lane } of active) {
              if (lane.search.runsAhead && inflight.size < options.pool.pool.size && run(lane, false))
                more = true;
            }
          }
        }
        if (failure) throw failure;
        // Judge whatever is ready, lane by lane, in each lane's own order.
        let judgedNow = false;
        for (const { lane, want } of active) {
          const id = lane.ids.get(want);
          const r = id === undefined ? undefined : ready.get(id);
          if (!r) continue;
          ready.delete(id!);
          lane.search.accept(r);
          lane.judged.push({
            id: judged,
            kind: r.task.kind,
            steps: r.steps,
            blocked: r.blocked,
            states: r.dpor?.states ?? r.states,
            ...keep(lane, r),
          });
          judged++;
          judgedNow = true;
          if (r.bug) {
            lane.done = true;
            lane.bug = true;
          }
          if (!r.blocked && r.task.kind === 'dpor') classes++;
          options.onResult?.(r, judged);
          options.onProgress?.(judged, classes);
        }
        if (!judgedNow) {
          if (inflight.size === 0) throw new Error('exploration stalled: no execution in flight');
          await Promise.race(inflight.values());
        } else if (performance.now() >= sliceEnd || inflight.size > 0) {
          // Let finished workers' results in (and progress and Ctrl-C).
          await new Promise((resolve) => setImmediate(resolve));
          sliceEnd = performance.now() + 50;
        }
      }
    }
    return end('max-schedules', []);
  } finally {
    // Executions handed out ahead of need are dropped; their workers finish them unseen.
    await Promise.allSettled(inflight.values());
  }
}
