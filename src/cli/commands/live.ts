import { join } from 'node:path';
import type { CheckerOptions } from '../../checkers/settings.ts';
import { type ExecutionResult, replayMoves } from '../../explore/run-execution.ts';
import { ActorThreads } from '../../live/actor-threads.ts';
import { controlledRun } from '../../live/controlled.ts';
import { checkLive } from '../../live/live-check.ts';
import { LiveRunner } from '../../live/live-run.ts';
import { UsageError } from '../../model/errors.ts';
import { formatBug, formatSteps } from '../../report/counterexample.ts';
import { makeTrace, writeTrace } from '../../report/trace-file.ts';
import type { Bug } from '../../runtime/step.ts';
import { defaultVariant, instantiate, parseParams, type ScenarioInstance } from '../../scenario/instance.ts';
import { type LoadedScenario, resolveScenario, splitTarget } from '../../scenario/load.ts';

export interface LiveArgs {
  readonly target: string;
  readonly controlled: boolean;
  readonly durationMs: number;
  /** Stop after this many runs, whatever the duration. */
  readonly runs?: number;
  readonly seed: number;
  readonly stepTimeoutMs?: number;
  readonly params: readonly string[];
  readonly checkers?: CheckerOptions;
  readonly json: boolean;
  readonly signal?: AbortSignal;
}

/** The first bug of a live session, kept with its replayable schedule. */
interface FirstBug {
  readonly run: number;
  readonly bug: Bug;
  readonly result: ExecutionResult;
  readonly seed?: number;
}

/**
 * `vcpusim live <scenario>[:<variant>]` (DESIGN §2, "Worker threads"): every actor's
 * machine on its own worker thread, the scenario run again and again for the duration
 * (or `--runs`), with runs/s and steps/s reported.
 * - Free-running (the default): the threads run at once over shared memory (src/live/),
 *   and after each run the observed interleaving is replayed through every checker.
 * - `--controlled`: the scheduler grants each step, seed after seed; the first run's
 *   trace hash is `vcpusim run --seed N`'s.
 * The first bug is written as a trace for `vcpusim replay`. An actor that throws or hangs
 * is named, and every thread is ended before the command returns.
 */
export async function liveCommand(a: LiveArgs, out: (s: string) => void): Promise<number> {
  const { ref, variant } = splitTarget(a.target);
  const loaded = await resolveScenario(ref);
  const s = loaded.scenario;
  const v = variant ?? defaultVariant(s);
  if (!s.variants[v]) {
    throw new UsageError(
      `scenario '${s.name}' has no variant '${v}' (it has: ${Object.keys(s.variants).join(', ')})`,
    );
  }
  const instance = instantiate(s, v, parseParams(s, a.params), a.checkers);
  const more = (runs: number, started: number) =>
    !a.signal?.aborted &&
    (a.runs !== undefined ? runs < a.runs : runs === 0 || performance.now() - started < a.durationMs);
  return a.controlled ? controlled(a, loaded, instance, more, out) : free(a, loaded, instance, more, out);
}

type More = (runs: number, started: number) => boolean;

async function controlled(
  a: LiveArgs,
  loaded: LoadedScenario,
  instance: ScenarioInstance,
  more: More,
  out: (s: string) => void,
): Promise<number> {
  const threads = new ActorThreads(loaded.file, { stepTimeoutMs: a.stepTimeoutMs });
  const launched = performance.now();
  let started = launched;
  let runs = 0;
  let steps = 0;
  let bugs = 0;
  let firstHash = '';
  let first: FirstBug | undefined;
  try {
    // Start the threads (each loads the scenario) before the clock starts.
    threads.reset(instance);
    started = performance.now();
    for (let seed = a.seed; more(runs, started); seed++) {
      const r = controlledRun(instance, threads, seed);
      runs++;
      steps += r.steps;
      if (runs === 1) firstHash = r.traceHash;
      if (r.bug) {
        bugs++;
        first ??= { run: runs - 1, seed, bug: r.bug, result: r };
      }
      // Let Ctrl-C in between runs.
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    await threads.close();
  }
  const elapsedMs = performance.now() - started;
  const trace =
    first &&
    writeFirst(loaded, instance, first, { strategy: 'random', seed: first.seed, mode: 'live --controlled' });
  const rate = (n: number) => n / (elapsedMs / 1000);
  if (a.json) {
    out(
      JSON.stringify(
        {
          ...head(instance, 'controlled', first),
          seeds: { first: a.seed, last: a.seed + runs - 1 },
          runs,
          steps,
          threadStartMs: Math.round(started - launched),
          elapsedMs: Math.round(elapsedMs),
          runsPerSecond: round1(rate(runs)),
          stepsPerSecond: Math.round(rate(steps)),
          firstTraceHash: firstHash,
          bugs,
          bug: first ? { seed: first.seed, ...first.bug, ...trace } : null,
        },
        null,
        2,
      ),
    );
  } else {
    const name = `${instance.scenario.name}:${instance.variant}`;
    out(
      `live --controlled ${name}  ${runs} runs (seeds ${a.seed}..${a.seed + runs - 1}) in ${(elapsedMs / 1000).toFixed(1)} s: ${rate(runs).toFixed(1)} runs/s, ${Math.round(rate(steps))} steps/s (${instance.actors.length} worker threads, started in ${((started - launched) / 1000).toFixed(1)} s)`,
    );
    out(`first run's traceHash ${firstHash} (vcpusim run ${name} --seed ${a.seed} gives the same)`);
    if (first) {
      out(`BUG in ${bugs} of ${runs} runs; first at seed ${first.seed}: ${formatBug(first.bug)}`);
      out(`trace: ${trace?.traceFile}  (vcpusim replay ${trace?.traceFile})`);
    } else out(`no bug in ${runs} runs`);
  }
  return (first ? 'bug' : 'pass') === instance.expect ? 0 : 1;
}

async function free(
  a: LiveArgs,
  loaded: LoadedScenario,
  instance: ScenarioInstance,
  more: More,
  out: (s: string) => void,
): Promise<number> {
  const runner = new LiveRunner(instance, loaded.file, {
    ...(a.stepTimeoutMs !== undefined ? { stopGraceMs: a.stepTimeoutMs, stallMs: a.stepTimeoutMs } : {}),
  });
  const launched = performance.now();
  let started = launched;
  let runs = 0;
  let steps = 0;
  /** Runs and steps after the first (which also starts the threads): what the rates count. */
  let timedRuns = 0;
  let timedSteps = 0;
  let exact = 0;
  let diverged = 0;
  let overlapped = 0;
  const ends = { done: 0, settled: 0, timeout: 0 };
  const found = new Map<string, number>();
  let first: FirstBug | undefined;
  try {
    // The first run also starts the threads: it is not timed.
    let warm = true;
    while (warm || more(runs, started)) {
      const r = await runner.run();
      const verdict = checkLive(instance, r.logs);
      runs++;
      steps += verdict.observed.length;
      if (warm) {
        warm = false;
        started = performance.now();
      } else {
        timedRuns++;
        timedSteps += verdict.observed.length;
      }
      ends[r.end]++;
      overlapped += verdict.overlapped;
      if (verdict.exact) exact++;
      if (verdict.diverged) diverged++;
      const bug = verdict.replay?.bug;
      if (bug) {
        const key = bug.invariant ? `invariant ${bug.invariant}` : bug.kind;
        found.set(key, (found.get(key) ?? 0) + 1);
        first ??= { run: runs - 1, bug, result: verdict.replay! };
      }
    }
  } finally {
    await runner.close();
  }
  const elapsedMs = Math.max(1, performance.now() - started);
  const trace = first && writeFirst(loaded, instance, first, { mode: 'live' });
  const rate = (n: number) => n / (elapsedMs / 1000);
  const bugRuns = [...found.values()].reduce((x, y) => x + y, 0);
  if (a.json) {
    out(
      JSON.stringify(
        {
          ...head(instance, 'free', first),
          runs,
          steps,
          threadStartMs: Math.round(started - launched),
          elapsedMs: Math.round(elapsedMs),
          runsPerSecond: round1(rate(timedRuns)),
          stepsPerSecond: Math.round(rate(timedSteps)),
          ends,
          replayed: runs - diverged,
          exact,
          overlappedSteps: overlapped,
          bugs: Object.fromEntries(found),
          bug: first ? { run: first.run, ...first.bug, ...trace } : null,
        },
        null,
        2,
      ),
    );
  } else {
    const name = `${instance.scenario.name}:${instance.variant}`;
    out(
      `live ${name}  ${runs} runs, ${timedRuns} of them in ${(elapsedMs / 1000).toFixed(1)} s after the threads started (${((started - launched) / 1000).toFixed(1)} s): ${rate(timedRuns).toFixed(1)} runs/s, ${Math.round(rate(timedSteps))} steps/s, ${instance.actors.length} worker threads over shared memory`,
    );
    out(
      `post-run check: ${runs - diverged} of ${runs} runs replayed through the checkers (${exact} exactly: the replay read what the threads read); ${overlapped} steps overlapped another thread's`,
    );
    if (first) {
      out(`BUG in ${bugRuns} of ${runs} runs: ${[...found].map(([k, n]) => `${k} ${n}`).join(', ')}`);
      out(`first, in run ${first.run + 1}: ${formatBug(first.bug)}`);
      out(`  the interleaving the threads took, up to the bug (${first.result.records.length} steps):`);
      out(formatSteps(first.result.records, '    '));
      out(`trace: ${trace?.traceFile}  (vcpusim replay ${trace?.traceFile})`);
    } else out(`no bug in ${runs} runs`);
  }
  return (first ? 'bug' : 'pass') === instance.expect ? 0 : 1;
}

function head(instance: ScenarioInstance, mode: 'controlled' | 'free', first: FirstBug | undefined) {
  return {
    scenario: instance.scenario.name,
    variant: instance.variant,
    mode,
    expect: instance.expect,
    verdict: first ? 'bug' : 'pass',
    params: instance.params,
    checkers: instance.checkers,
  };
}

const round1 = (n: number) => Math.round(n * 10) / 10;

/** Writes the first bug's schedule, replayed in process, as a trace file. */
function writeFirst(
  loaded: LoadedScenario,
  instance: ScenarioInstance,
  first: FirstBug,
  settings: Record<string, unknown>,
): { traceHash: string; traceFile: string } {
  // A free run's bug comes from its recorded replay; a controlled run recorded nothing.
  const again = first.result.records.length > 0 ? first.result : replayMoves(instance, first.result.moves);
  const s = instance.scenario;
  const traceFile = join(
    '.vcpusim/traces',
    `${s.name}.${instance.variant}.live.${again.traceHash.slice(0, 8)}.trace.json`,
  );
  writeTrace(
    traceFile,
    makeTrace({
      scenario: { name: s.name, file: loaded.file, seed: s.seed },
      variant: instance.variant,
      expect: instance.expect,
      params: instance.params,
      settings: { ...settings, checkers: instance.checkers },
      execution: first.run,
      bug: again.bug,
      traceHash: again.traceHash,
      records: again.records,
    }),
  );
  return { traceHash: again.traceHash, traceFile };
}
