import { last, lastValueFrom, map, tap } from 'rxjs';
import type { CheckerOptions } from '../../checkers/settings.ts';
import { checkDeterminism, type ExecutionEvent, execution$ } from '../../explore/run-execution.ts';
import { formatBug, formatSteps } from '../../report/counterexample.ts';
import { makeTrace, writeTrace } from '../../report/trace-file.ts';
import type { StepRecord } from '../../runtime/step.ts';
import { defaultVariant, instantiate, parseParams } from '../../scenario/instance.ts';
import { resolveScenario, splitTarget } from '../../scenario/load.ts';
import { RandomStrategy } from '../../strategies/random.ts';

export interface RunArgs {
  readonly target: string;
  readonly seed: number;
  readonly params: readonly string[];
  readonly trace?: string;
  /** From `--no-check`: the checkers turned off. */
  readonly checkers?: CheckerOptions;
  readonly json: boolean;
}

/**
 * `vcpusim run`: one execution under the seeded random scheduler, printed step by step,
 * with its verdict and trace hash. Exit 0 when the verdict matches the variant's expect.
 */
export async function runCommand(a: RunArgs, out: (s: string) => void): Promise<number> {
  const { ref, variant } = splitTarget(a.target);
  const loaded = await resolveScenario(ref);
  const s = loaded.scenario;
  const v = variant ?? defaultVariant(s);
  const instance = instantiate(s, v, parseParams(s, a.params), a.checkers);
  const strategy = new RandomStrategy(a.seed);
  strategy.begin(0);
  // Steps arrive as events; the same decisions are then executed again to check determinism.
  const records: StepRecord[] = [];
  const first = await lastValueFrom(
    execution$(instance, strategy, 0, { record: true }).pipe(
      tap((e) => {
        if (e.type === 'step') records.push(e.record);
      }),
      last(),
      map((e) => (e as Extract<ExecutionEvent, { type: 'end' }>).result),
    ),
  );
  const r = checkDeterminism(instance, first);
  const verdict = r.bug ? 'bug' : 'pass';
  const trace = makeTrace({
    scenario: { name: s.name, file: loaded.file, seed: s.seed },
    variant: v,
    expect: instance.expect,
    params: instance.params,
    settings: { strategy: 'random', seed: a.seed, checkers: instance.checkers },
    execution: 0,
    bug: r.bug,
    traceHash: r.traceHash,
    records,
  });
  if (a.trace) writeTrace(a.trace, trace);
  if (a.json) {
    out(
      JSON.stringify(
        {
          scenario: s.name,
          variant: v,
          expect: instance.expect,
          verdict,
          seed: a.seed,
          params: instance.params,
          checkers: instance.checkers,
          steps: r.steps,
          traceHash: r.traceHash,
          traceFile: a.trace,
          bug: r.bug ?? null,
          trace: trace.steps,
        },
        null,
        2,
      ),
    );
  } else {
    out(`${s.name}:${v}  seed ${a.seed}  ${r.steps} steps`);
    out(formatSteps(records));
    out('');
    out(r.bug ? `BUG  ${formatBug(r.bug)}` : 'no bug in this execution');
    out(`traceHash ${r.traceHash}`);
    if (a.trace) out(`trace written to ${a.trace} (vcpusim replay ${a.trace})`);
  }
  return verdict === instance.expect ? 0 : 1;
}
