/**
 * `npm run bench`: measures the engine and writes bench/results.md (never edited by hand).
 * Machines are noisy: every figure is the median of several runs.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { type AnyStateMachine, createActor, type EventObject } from 'xstate';
import mmioSplit from '../scenarios/mmio-split.ts';
import { check } from '../src/index.ts';
import { Execution } from '../src/runtime/execution.ts';
import { instantiate } from '../src/scenario/instance.ts';
import { RandomStrategy } from '../src/strategies/random.ts';
import { VERSION } from '../src/version.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const quick = process.argv.includes('--quick');
const REPEATS = quick ? 3 : 7;
const SCHEDULES = quick ? 300 : 1000;

/** Executions/s and steps/s of `check mmio-split:fixed` (random strategy, in-process). */
async function checkRate() {
  const rates: { execs: number; steps: number }[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const r = await check(mmioSplit, {
      variants: ['fixed'],
      maxSchedules: SCHEDULES,
      traceDir: null,
      budgetMs: 600_000,
    });
    const v = r.results[0];
    rates.push({ execs: (v.schedules * 1000) / v.elapsedMs, steps: (v.steps * 1000) / v.elapsedMs });
  }
  return { execs: median(rates.map((r) => r.execs)), steps: median(rates.map((r) => r.steps)) };
}

/**
 * The same machines driven by bare xstate: the exact events the engine sent in a set of
 * executions (deliveries and completions), replayed with actor.send and nothing else.
 */
function rawVsEngine() {
  const instance = instantiate(mmioSplit, 'fixed');
  const N = quick ? 100 : 300;
  const recorded: { actor: string; event: EventObject }[][] = [];
  const strategy = new RandomStrategy(0);
  for (let i = 0; i < N; i++) {
    const transitions: { actor: string; event: EventObject }[] = [];
    const exec = new Execution(instance, { transitions });
    exec.start();
    strategy.begin(i);
    for (let m = exec.enabled(); m.length; m = exec.enabled()) exec.apply(strategy.pick(m));
    recorded.push(transitions);
  }
  const sends = recorded.reduce((a, t) => a + t.length, 0);
  const machines = new Map<string, { machine: AnyStateMachine; input: unknown }>(
    instance.actors.map((a) => [a.name, { machine: a.machine, input: a.input }]),
  );
  const raw: number[] = [];
  const engine: number[] = [];
  for (let rep = 0; rep < REPEATS; rep++) {
    let t = performance.now();
    for (const transitions of recorded) {
      const actors = new Map(
        [...machines].map(([name, m]) => [name, createActor(m.machine, { input: m.input })]),
      );
      for (const a of actors.values()) {
        a.on('*', () => {});
        a.start();
      }
      for (const { actor, event } of transitions) actors.get(actor)!.send(event);
    }
    raw.push(performance.now() - t);
    t = performance.now();
    for (let i = 0; i < N; i++) {
      const exec = new Execution(instance);
      exec.start();
      strategy.begin(i);
      for (let m = exec.enabled(); m.length; m = exec.enabled()) exec.apply(strategy.pick(m));
    }
    engine.push(performance.now() - t);
  }
  const rawMs = median(raw);
  const engineMs = median(engine);
  return {
    executions: N,
    sends,
    rawSendsPerSec: (sends * 1000) / rawMs,
    rawMs,
    engineMs,
    ratio: engineMs / rawMs,
  };
}

/** Wall time from starting `npx vcpusim check mmio-split:pre-fix` to its verdict. */
function cliWall() {
  const times: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const t = performance.now();
    const r = spawnSync('npx', ['vcpusim', 'check', 'mmio-split:pre-fix'], { cwd: ROOT, encoding: 'utf8' });
    times.push(performance.now() - t);
    if (r.status !== 0) throw new Error(`vcpusim check mmio-split:pre-fix exited ${r.status}: ${r.stderr}`);
  }
  return median(times);
}

const rate = await checkRate();
const rv = rawVsEngine();
const wall = cliWall();
const lines = [
  '# vcpusim benchmarks',
  '',
  `Written by \`npm run bench\` (bench/run.ts); do not edit by hand. vcpusim ${VERSION}, Node ${process.version},`,
  `${cpus().length} × ${cpus()[0]?.model.trim()}. Every figure is the median of ${REPEATS} runs.`,
  '',
  '| measure | value |',
  '|---|---|',
  `| \`check mmio-split:fixed\` executions/s (random, ${SCHEDULES} schedules) | ${fmt(rate.execs)} |`,
  `| \`check mmio-split:fixed\` steps/s | ${fmt(rate.steps)} |`,
  `| raw xstate \`actor.send\`/s, same machines and events (${fmt(rv.sends)} sends in ${rv.executions} executions) | ${fmt(rv.rawSendsPerSec)} |`,
  `| the same ${rv.executions} executions: raw xstate / engine | ${fmt(rv.rawMs)} ms / ${fmt(rv.engineMs)} ms |`,
  `| engine overhead over raw xstate | ${rv.ratio.toFixed(2)}× |`,
  `| wall time of \`npx vcpusim check mmio-split:pre-fix\`, start to verdict | ${fmt(wall)} ms |`,
  '',
];
writeFileSync(new URL('./results.md', import.meta.url), lines.join('\n'));
process.stdout.write(lines.join('\n'));
