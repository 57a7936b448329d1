import { join } from 'node:path';
import type { CheckerOptions } from '../../checkers/settings.ts';
import { replayMoves } from '../../explore/run-execution.ts';
import { ActorThreads } from '../../live/actor-threads.ts';
import { controlledRun } from '../../live/controlled.ts';
import { UsageError } from '../../model/errors.ts';
import { formatBug } from '../../report/counterexample.ts';
import { makeTrace, writeTrace } from '../../report/trace-file.ts';
import type { Bug } from '../../runtime/step.ts';
import { defaultVariant, instantiate, parseParams } from '../../scenario/instance.ts';
import { resolveScenario, splitTarget } from '../../scenario/load.ts';

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

/**
 * `vcpusim live <scenario>[:<variant>] --controlled`: every actor's machine on its own
 * worker thread, the scheduler granting each step (src/live/). The scenario runs again
 * and again, seed after seed, for the duration (or `--runs`); the report gives runs/s and
 * steps/s, the first run's trace hash (equal to `vcpusim run --seed N`'s), and the first
 * bug with a trace file for `vcpusim replay`. An actor that throws or hangs is named, and
 * every thread is ended before the command returns.
 */
export async function liveCommand(a: LiveArgs, out: (s: string) => void): Promise<number> {
  if (!a.controlled) {
    throw new UsageError(
      'live without --controlled (free-running threads over shared memory) is not available yet; use live --controlled',
    );
  }
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
  const threads = new ActorThreads(loaded.file, { stepTimeoutMs: a.stepTimeoutMs });
  const launched = performance.now();
  let started = launched;
  let runs = 0;
  let steps = 0;
  let bugs = 0;
  let firstHash = '';
  let first: { seed: number; bug: Bug; moves: readonly string[] } | undefined;
  try {
    // Start the threads (each loads the scenario) before the clock starts.
    threads.reset(instance);
    started = performance.now();
    for (let seed = a.seed; ; seed++) {
      if (a.runs !== undefined ? runs >= a.runs : runs > 0 && performance.now() - started >= a.durationMs)
        break;
      if (a.signal?.aborted) break;
      const r = controlledRun(instance, threads, seed);
      runs++;
      steps += r.steps;
      if (runs === 1) firstHash = r.traceHash;
      if (r.bug) {
        bugs++;
        first ??= { seed, bug: r.bug, moves: r.moves };
      }
      // Let Ctrl-C in between runs.
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    await threads.close();
  }
  const elapsedMs = performance.now() - started;
  let traceFile: string | undefined;
  let traceHash: string | undefined;
  if (first) {
    // Controlled runs are the in-process runtime's: the schedule replays in process.
    const again = replayMoves(instance, first.moves);
    traceHash = again.traceHash;
    traceFile = join('.vcpusim/traces', `${s.name}.${v}.live.${again.traceHash.slice(0, 8)}.trace.json`);
    writeTrace(
      traceFile,
      makeTrace({
        scenario: { name: s.name, file: loaded.file, seed: s.seed },
        variant: v,
        expect: instance.expect,
        params: instance.params,
        settings: {
          strategy: 'random',
          seed: first.seed,
          mode: 'live --controlled',
          checkers: instance.checkers,
        },
        execution: first.seed - a.seed,
        bug: again.bug,
        traceHash: again.traceHash,
        records: again.records,
      }),
    );
  }
  const verdict = first ? 'bug' : 'pass';
  const rate = (n: number) => n / (elapsedMs / 1000);
  if (a.json) {
    out(
      JSON.stringify(
        {
          scenario: s.name,
          variant: v,
          mode: 'controlled',
          expect: instance.expect,
          verdict,
          seeds: { first: a.seed, last: a.seed + runs - 1 },
          runs,
          steps,
          threadStartMs: Math.round(started - launched),
          elapsedMs: Math.round(elapsedMs),
          runsPerSecond: Math.round(rate(runs) * 10) / 10,
          stepsPerSecond: Math.round(rate(steps)),
          firstTraceHash: firstHash,
          bugs,
          bug: first ? { seed: first.seed, ...first.bug, traceHash, traceFile } : null,
        },
        null,
        2,
      ),
    );
  } else {
    out(
      `live --controlled ${s.name}:${v}  ${runs} runs (seeds ${a.seed}..${a.seed + runs - 1}) in ${(elapsedMs / 1000).toFixed(1)} s: ${rate(runs).toFixed(1)} runs/s, ${Math.round(rate(steps))} steps/s (${instance.actors.length} worker threads, started in ${((started - launched) / 1000).toFixed(1)} s)`,
    );
    out(`first run's traceHash ${firstHash} (vcpusim run ${s.name}:${v} --seed ${a.seed} gives the same)`);
    if (first) {
      out(`BUG in ${bugs} of ${runs} runs; first at seed ${first.seed}: ${formatBug(first.bug)}`);
      out(`trace: ${traceFile}  (vcpusim replay ${traceFile})`);
    } else out(`no bug in ${runs} runs`);
  }
  return verdict === instance.expect ? 0 : 1;
}
