import { parseNoCheck } from '../checkers/settings.ts';
import { isUserError, UsageError } from '../model/errors.ts';
import { VERSION } from '../version.ts';
import { durationOption, intOption, parse, shardOption } from './args.ts';
import { checkCommand } from './commands/check.ts';
import { diagramCommand } from './commands/diagram.ts';
import { listCommand } from './commands/list.ts';
import { liveCommand } from './commands/live.ts';
import { mergeCommand } from './commands/merge.ts';
import { replayCommand } from './commands/replay.ts';
import { runCommand } from './commands/run.ts';
import { type Io, processIo } from './io.ts';

export const USAGE = `vcpusim ${VERSION}: systematic concurrency testing for hypervisor protocols

usage:
  vcpusim list [--json]
  vcpusim run <scenario>[:<variant>] [--seed N] [--param k=v ...] [--no-check LIST]
              [--trace FILE] [--json]
  vcpusim check [<scenario>[:<variant>] ...] [--strategy portfolio|dpor|pct|random]
                [--max-schedules N] [--budget 30s] [--workers N] [--shard i/n] [--seed N]
                [--preemptions N] [--pct-depth D] [--param k=v ...] [--no-check LIST] [--json]
                [--junit FILE] [--coverage] [--report DIR]
  vcpusim replay <trace.json> [--json]
  vcpusim live <scenario>[:<variant>] [--duration 10s | --runs N] [--controlled] [--seed N]
              [--step-timeout 5s] [--param k=v ...] [--no-check LIST] [--json]
  vcpusim diagram <scenario>[:<variant>] [--actor NAME] [--format mermaid|svg] [--out DIR]
                  [--coverage REPORT.json] [--param k=v ...]
  vcpusim merge <report.json ...> [--json]

A scenario is a bundled name (see 'vcpusim list') or a path to a scenario module.
check with no scenario checks every bundled scenario and variant. The default strategy,
portfolio, is exhaustive DPOR where the space allows it, then PCT and random as well.
--workers defaults to the number of cores; --shard i/n runs the i-th of n disjoint parts
of the search (merge joins the shards' --json reports into one verdict).
Checkers: invariants and assertions always; race (happens-before data races),
lock-order (lockdep-style inversions), deadlock and liveness (hot states) unless
--no-check turns them off (a comma list, repeatable: --no-check race,lock-order).
A trace file records the checkers, so replay reaches the same verdict.
--coverage records which machine transitions the explored executions take (per actor in
the report; diagram --coverage REPORT.json marks the ones not taken).
live runs each actor on its own worker thread, again and again: free-running over shared
memory, each run's interleaving replayed through the checkers after it; or --controlled,
the scheduler granting each step (the trace of run --seed N).
--report DIR writes a self-contained HTML report there (verdicts, each counterexample as
a sequence diagram with a step-through view on the statecharts, coverage).
--junit FILE also writes JUnit XML (a test case per variant). Under GitHub Actions
(GITHUB_ACTIONS=true) check also prints annotations and appends a Markdown summary, with
each counterexample as a Mermaid sequence diagram, to GITHUB_STEP_SUMMARY.
exit codes: 0 verdicts as expected, 1 a verdict not as expected, 2 usage error,
            3 a scenario failed to load or a model is invalid.`;

/** Runs the CLI; returns the exit code. User errors become one line on stderr, never a stack. */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.out(USAGE);
        return command === undefined ? 2 : 0;
      case '--version':
      case '-V':
        io.out(VERSION);
        return 0;
      case 'list': {
        const { values, positionals } = parse('list', rest, { json: { type: 'boolean' } });
        if (positionals.length) throw new UsageError(`list takes no arguments (got '${positionals[0]}')`);
        return await listCommand(!!values.json, io.out);
      }
      case 'run': {
        const { values, positionals } = parse('run', rest, {
          seed: { type: 'string' },
          param: { type: 'string', multiple: true },
          trace: { type: 'string' },
          'no-check': { type: 'string', multiple: true },
          json: { type: 'boolean' },
        });
        if (positionals.length !== 1) throw new UsageError('run takes one <scenario>[:<variant>]');
        const checkers = parseNoCheck(values['no-check']);
        return await runCommand(
          {
            target: positionals[0],
            seed: intOption('seed', values.seed) ?? 0,
            params: values.param ?? [],
            trace: values.trace,
            checkers,
            json: !!values.json,
          },
          io.out,
        );
      }
      case 'live': {
        const { values, positionals } = parse('live', rest, {
          controlled: { type: 'boolean' },
          duration: { type: 'string' },
          runs: { type: 'string' },
          seed: { type: 'string' },
          'step-timeout': { type: 'string' },
          param: { type: 'string', multiple: true },
          'no-check': { type: 'string', multiple: true },
          json: { type: 'boolean' },
        });
        if (positionals.length !== 1) throw new UsageError('live takes one <scenario>[:<variant>]');
        const controller = new AbortController();
        const onSigint = () => controller.abort();
        process.on('SIGINT', onSigint);
        try {
          return await liveCommand(
            {
              target: positionals[0],
              controlled: !!values.controlled,
              durationMs: durationOption('duration', values.duration) ?? 10_000,
              runs: intOption('runs', values.runs, 1),
              seed: intOption('seed', values.seed) ?? 0,
              stepTimeoutMs: durationOption('step-timeout', values['step-timeout']),
              params: values.param ?? [],
              checkers: parseNoCheck(values['no-check']),
              json: !!values.json,
              signal: controller.signal,
            },
            (l) => io.out(l),
          );
        } finally {
          process.off('SIGINT', onSigint);
        }
      }
      case 'diagram': {
        const { values, positionals } = parse('diagram', rest, {
          actor: { type: 'string' },
          format: { type: 'string' },
          out: { type: 'string' },
          coverage: { type: 'string' },
          param: { type: 'string', multiple: true },
        });
        if (positionals.length !== 1) throw new UsageError('diagram takes one <scenario>[:<variant>]');
        return await diagramCommand(
          {
            target: positionals[0],
            actor: values.actor,
            format: values.format ?? 'mermaid',
            outDir: values.out,
            coverageFrom: values.coverage,
            params: values.param ?? [],
          },
          (l) => io.out(l),
        );
      }
      case 'check': {
        const { values, positionals } = parse('check', rest, {
          strategy: { type: 'string' },
          'max-schedules': { type: 'string' },
          budget: { type: 'string' },
          workers: { type: 'string' },
          shard: { type: 'string' },
          seed: { type: 'string' },
          preemptions: { type: 'string' },
          'pct-depth': { type: 'string' },
          param: { type: 'string', multiple: true },
          'no-check': { type: 'string', multiple: true },
          json: { type: 'boolean' },
          junit: { type: 'string' },
          coverage: { type: 'boolean' },
          report: { type: 'string' },
        });
        const checkers = parseNoCheck(values['no-check']);
        return await checkCommand(
          {
            targets: positionals,
            strategy: values.strategy,
            maxSchedules: intOption('max-schedules', values['max-schedules'], 1),
            budgetMs: durationOption('budget', values.budget),
            workers: intOption('workers', values.workers, 1),
            shard: shardOption(values.shard),
            preemptions: intOption('preemptions', values.preemptions),
            pctDepth: intOption('pct-depth', values['pct-depth'], 1),
            seed: intOption('seed', values.seed),
            params: values.param ?? [],
            checkers,
            json: !!values.json,
            junit: values.junit,
            coverage: !!values.coverage,
            report: values.report,
          },
          io,
        );
      }
      case 'merge': {
        const { values, positionals } = parse('merge', rest, { json: { type: 'boolean' } });
        if (positionals.length === 0)
          throw new UsageError('merge takes one or more report files (check --json)');
        return await mergeCommand(positionals, !!values.json, io);
      }
      case 'replay': {
        const { values, positionals } = parse('replay', rest, { json: { type: 'boolean' } });
        if (positionals.length !== 1) throw new UsageError('replay takes one trace file');
        return await replayCommand(positionals[0], !!values.json, io.out);
      }
      default:
        throw new UsageError(
          `unknown command '${command}' (commands: list, run, check, replay, merge, diagram, live; see 'vcpusim help')`,
        );
    }
  } catch (e) {
    if (isUserError(e)) {
      io.err(`vcpusim: ${e.message}`);
      return e.exitCode;
    }
    throw e;
  }
}
