import { existsSync } from 'node:fs';
import { last, lastValueFrom, map, tap } from 'rxjs';
import { records, witnessOrders } from '../../explore/lock-witnesses.ts';
import { type ExecutionEvent, execution$, replayMoves } from '../../explore/run-execution.ts';
import { ModelError, UsageError } from '../../model/errors.ts';
import { formatBug, formatSteps } from '../../report/counterexample.ts';
import { readTrace, traceCheckers } from '../../report/trace-file.ts';
import { instantiate } from '../../scenario/instance.ts';
import { type LoadedScenario, loadScenarioFile, resolveScenario } from '../../scenario/load.ts';
import { ReplayStrategy } from '../../strategies/replay.ts';

/**
 * `vcpusim replay FILE`: re-executes a trace file's schedule with no other input.
 * Exit 0 when it reproduces the recorded outcome and trace hash, 1 when the run now ends
 * differently (a fixed bug, say), 3 when the trace no longer fits the model.
 */
export async function replayCommand(file: string, json: boolean, out: (s: string) => void): Promise<number> {
  const t = readTrace(file);
  let loaded: LoadedScenario;
  if (t.scenario.file && existsSync(t.scenario.file)) loaded = await loadScenarioFile(t.scenario.file);
  else loaded = await resolveScenario(t.scenario.name);
  if (loaded.scenario.name !== t.scenario.name) {
    throw new ModelError(
      'divergence',
      `${file}: the trace is of scenario '${t.scenario.name}', but ${loaded.file} defines '${loaded.scenario.name}'`,
    );
  }
  let instance: ReturnType<typeof instantiate>;
  try {
    const known = loaded.scenario.params ?? {};
    const params = Object.fromEntries(
      Object.entries(t.params).filter(([k]) => {
        if (!(k in known))
          throw new UsageError(
            `the trace sets parameter '${k}', which scenario '${t.scenario.name}' no longer has`,
          );
        return true;
      }),
    );
    instance = instantiate(loaded.scenario, t.variant, params, traceCheckers(file, t));
  } catch (e) {
    if (e instanceof UsageError) throw new ModelError('divergence', `${file}: ${e.message}`);
    throw e;
  }
  // A lock-order inversion across executions: its witnesses first, for the orders they record.
  const witnesses = (t.witnesses ?? []).map((w, i) => {
    const where = `${file}: witness ${i + 1}`;
    let result: ReturnType<typeof replayMoves>;
    try {
      result = replayMoves(instance, scheduleOf(w.schedule), {
        whats: w.steps.map((s) => `${s.actor}: ${s.what}`),
        partial: true,
      });
    } catch (e) {
      if (e instanceof ModelError) throw new ModelError(e.kind, `${where}: ${e.message}`, e.where);
      throw e;
    }
    if (!records(result, w.orders)) {
      const missing = w.orders.filter((o) => !records(result, [o]));
      throw new ModelError('divergence', `${where} no longer records the lock order ${missing.join(', ')}`);
    }
    return { orders: w.orders, result, recorded: w.traceHash };
  });
  const lockOrders = witnessOrders(witnesses);
  const moves = scheduleOf(t.schedule);
  // Each step is compared with the recorded one as it happens, so the first divergence is
  // the one reported, whether the model now does something else or cannot move at all.
  const strategy = new ReplayStrategy(
    moves,
    t.steps.map((s) => `${s.actor}: ${s.what}`),
  );
  strategy.begin();
  const r = await lastValueFrom(
    execution$(instance, strategy, 0, { record: true, lockOrders }).pipe(
      tap((e) => {
        if (e.type !== 'step') return;
        const now = e.record;
        const then = t.steps[now.index - 1];
        if (then && (now.actor !== then.actor || now.what !== then.what)) {
          throw new ModelError(
            'divergence',
            `${file}: trace diverges at step ${now.index}: the trace says ${then.actor} did '${then.what}', the model now does '${now.what}'`,
            { step: now.index, actor: then.actor },
          );
        }
      }),
      last(),
      map((e) => (e as Extract<ExecutionEvent, { type: 'end' }>).result),
    ),
  );
  const sameBug = (r.bug?.message ?? null) === (t.bug?.message ?? null);
  const reproduced =
    sameBug && r.traceHash === t.traceHash && witnesses.every((w) => w.result.traceHash === w.recorded);
  if (json) {
    out(
      JSON.stringify(
        {
          scenario: t.scenario.name,
          variant: t.variant,
          reproduced,
          verdict: r.bug ? 'bug' : 'pass',
          checkers: instance.checkers,
          bug: r.bug ?? null,
          steps: r.steps,
          traceHash: r.traceHash,
          recordedTraceHash: t.traceHash,
          ...(witnesses.length ? { witnesses: witnesses.length } : {}),
        },
        null,
        2,
      ),
    );
  } else {
    out(`replay ${t.scenario.name}:${t.variant}  ${r.steps} steps  (recorded by vcpusim ${t.tool.version})`);
    witnesses.forEach((w, i) => {
      out(`witness ${i + 1}, another execution that records part of the cycle (${w.result.steps} steps):`);
      out(formatSteps(w.result.records));
    });
    if (witnesses.length) out('the execution that closes the cycle:');
    out(formatSteps(r.records));
    out('');
    out(r.bug ? `BUG  ${formatBug(r.bug)}` : 'no bug in this execution');
    out(`traceHash ${r.traceHash}`);
    if (reproduced) out('reproduced: same outcome and trace hash as recorded');
    else if (!sameBug) out(`NOT reproduced: the trace recorded ${t.bug ? formatBug(t.bug) : 'no bug'}`);
    else if (r.traceHash !== t.traceHash)
      out(`NOT reproduced: trace hash differs from the recorded ${t.traceHash}`);
    else out("NOT reproduced: a witness's trace hash differs from the recorded one");
  }
  return reproduced ? 0 : 1;
}

function scheduleOf(line: string): string[] {
  return line.trim() === '' ? [] : line.trim().split(/\s+/);
}
