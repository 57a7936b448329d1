/**
 * `npm run bench`: measures the engine and writes bench/results.md (never edited by hand).
 * Machines are noisy: every figure is the median of several runs.
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { lastValueFrom, toArray } from 'rxjs';
import { type Actor, type AnyStateMachine, createActor, type EventObject } from 'xstate';
import cmoRoMemslot from '../scenarios/cmo-ro-memslot.ts';
import mmioSplit from '../scenarios/mmio-split.ts';
import pvhLow1mb from '../scenarios/pvh-low-1mb.ts';
import runstate from '../scenarios/runstate.ts';
import subpageMmioRo from '../scenarios/subpage-mmio-ro.ts';
import type { CheckOptions } from '../src/explore/check.ts';
import { checkTargets$ } from '../src/explore/check-targets.ts';
import { explore } from '../src/explore/explore.ts';
import { runExecution } from '../src/explore/run-execution.ts';
import { check, defineScenario } from '../src/index.ts';
import { ActorThreads } from '../src/live/actor-threads.ts';
import { controlledRun } from '../src/live/controlled.ts';
import { checkLive } from '../src/live/live-check.ts';
import { LiveRunner } from '../src/live/live-run.ts';
import type { CheckReport } from '../src/report/variant-report.ts';
import { Execution } from '../src/runtime/execution.ts';
import { instantiate } from '../src/scenario/instance.ts';
import { Prng } from '../src/strategies/prng.ts';
import { RandomStrategy } from '../src/strategies/random.ts';
import { SamplingSearch } from '../src/strategies/sampling-search.ts';
import { VERSION } from '../src/version.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const quick = process.argv.includes('--quick');
const REPEATS = quick ? 3 : 9;
const SCHEDULES = quick ? 300 : 1000;
const LIVE_MS = quick ? 2_000 : 5_000;
const LIVE_SEEDS = quick ? 50 : 200;
const SPEEDUP_REPEATS = quick ? 1 : 3;
const SCENARIO_FILE = fileURLToPath(new URL('../scenarios/mmio-split.ts', import.meta.url));
/** Every bundled scenario, for the per-variant table. */
const BUNDLED = [
  { scenario: cmoRoMemslot, file: fileURLToPath(new URL('../scenarios/cmo-ro-memslot.ts', import.meta.url)) },
  { scenario: mmioSplit, file: SCENARIO_FILE },
  { scenario: pvhLow1mb, file: fileURLToPath(new URL('../scenarios/pvh-low-1mb.ts', import.meta.url)) },
  { scenario: runstate, file: fileURLToPath(new URL('../scenarios/runstate.ts', import.meta.url)) },
  {
    scenario: subpageMmioRo,
    file: fileURLToPath(new URL('../scenarios/subpage-mmio-ro.ts', import.meta.url)),
  },
];
type Bundled = (typeof BUNDLED)[number];
/** The scenario of the single-variant figures (executions/s, the parallel workload). */
const MMIO_SPLIT: Bundled = BUNDLED.find((b) => b.scenario === mmioSplit)!;
const fmtBig = (n: number) => (n < 1e6 ? fmt(n) : n.toExponential(1).replace('e+', 'e'));

/** Executions/s and steps/s of `check mmio-split:fixed` (random strategy, in-process). */
async function checkRate() {
  await check(mmioSplit, { variants: ['fixed'], strategy: 'random', maxSchedules: 100, traceDir: null }); // warm-up
  const rates: { execs: number; steps: number }[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const r = await check(mmioSplit, {
      variants: ['fixed'],
      strategy: 'random',
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
 * Against it, the engine running the same schedules, with and without the scenario's
 * invariants (those are the scenario's cost, not the engine's). Rounds alternate the three
 * after a warm-up, and the ratios are medians of per-round ratios.
 */
function rawVsEngine() {
  const withInvariants = instantiate(mmioSplit, 'fixed');
  const bare = instantiate(defineScenario({ ...mmioSplit, invariants: {} }), 'fixed');
  const N = quick ? 100 : 300;
  const recorded: { actor: string; event: EventObject }[][] = [];
  const strategy = new RandomStrategy(0);
  const runEngine = (
    instance: typeof bare,
    record?: (t: { actor: string; event: EventObject }[]) => void,
  ) => {
    for (let i = 0; i < N; i++) {
      const transitions: { actor: string; event: EventObject }[] = [];
      const exec = new Execution(instance, record ? { transitions } : {});
      exec.start();
      strategy.begin(i);
      for (let m = exec.enabled(); m.length; m = exec.enabled()) exec.apply(strategy.pick(m));
      record?.(transitions);
    }
  };
  runEngine(withInvariants, (t) => recorded.push(t));
  const sends = recorded.reduce((a, t) => a + t.length, 0);
  const machines = bare.actors.map((a) => [a.name, a.machine, a.input] as const);
  const runRaw = () => {
    for (const transitions of recorded) {
      const actors = new Map<string, Actor<AnyStateMachine>>();
      for (const [name, machine, input] of machines) {
        const a = createActor(machine, { input });
        a.on('*', () => {});
        a.start();
        actors.set(name, a);
      }
      for (const { actor, event } of transitions) actors.get(actor)!.send(event);
    }
  };
  const time = (f: () => void) => {
    const t = performance.now();
    f();
    return performance.now() - t;
  };
  runRaw();
  runEngine(bare);
  const raw: number[] = [];
  const engine: number[] = [];
  const full: number[] = [];
  for (let rep = 0; rep < REPEATS; rep++) {
    raw.push(time(runRaw));
    engine.push(time(() => runEngine(bare)));
    full.push(time(() => runEngine(withInvariants)));
  }
  const ratio = (xs: number[]) => median(xs.map((x, i) => x / raw[i]));
  return {
    executions: N,
    sends,
    rawSendsPerSec: (sends * 1000) / median(raw),
    rawMs: median(raw),
    engineMs: median(engine),
    fullMs: median(full),
    ratio: ratio(engine),
    fullRatio: ratio(full),
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

const WORKLOAD = [
  'check',
  'bench/workloads/ioreq.ts',
  '--param',
  'vcpus=5',
  '--strategy',
  'dpor',
  '--budget',
  '600s',
  '--json',
];

/** Runs the CLI on the parallel workload; resolves with the wall time and the report. */
function workload(workers: number): Promise<{ ms: number; schedules: number; exhaustive: boolean }> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const child = spawn(process.execPath, ['bin/vcpusim.js', ...WORKLOAD, '--workers', String(workers)], {
      cwd: ROOT,
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`the parallel workload exited ${code}`));
      const r = (JSON.parse(out) as CheckReport).results[0];
      resolve({ ms: performance.now() - t, schedules: r.schedules ?? 0, exhaustive: r.exhaustive === true });
    });
  });
}

/**
 * Parallel exhaustive search on a run long enough to matter, and what this machine allows:
 * two independent one-thread runs at once show how much two threads slow each other
 * down (shared caches, memory and GC), which no split of the work can beat.
 */
async function parallelTable() {
  const one: number[] = [];
  const two: number[] = [];
  const pair: number[] = [];
  let first: Awaited<ReturnType<typeof workload>> | undefined;
  for (let i = 0; i < SPEEDUP_REPEATS; i++) {
    const a = await workload(1);
    const b = await workload(2);
    if (a.schedules !== b.schedules || !a.exhaustive || !b.exhaustive)
      throw new Error(`the workload differs with 2 workers: ${a.schedules} / ${b.schedules} executions`);
    first ??= a;
    one.push(a.ms);
    two.push(b.ms);
    const both = await Promise.all([workload(1), workload(1)]);
    pair.push(Math.max(...both.map((x) => x.ms)));
  }
  return {
    executions: first!.schedules,
    one: median(one),
    two: median(two),
    speedup: median(one) / median(two),
    ceiling: (2 * median(one)) / median(pair),
  };
}

/** A run of `check` on one variant, as the CLI does it (from the scenario file, so workers can load it). */
async function checkOne(variant: string, options: CheckOptions, target: Bundled = MMIO_SPLIT) {
  const events = await lastValueFrom(
    checkTargets$([{ ...target, variant }], {
      traceDir: null,
      ...options,
    }).pipe(toArray()),
  );
  const done = events.find((e) => e.type === 'done');
  if (done?.type !== 'done') throw new Error(`no report for ${variant}`);
  return done.report;
}

/**
 * The number of interleavings, estimated by Knuth's estimator (Math. Comp. 1975): along a
 * uniformly random schedule, the product of the numbers of enabled moves is an unbiased
 * estimate of the number of complete schedules. Mean of many walks.
 */
function naiveInterleavings(variant: string, target: Bundled, walks = quick ? 100 : 400): number {
  const inst = instantiate(target.scenario, variant);
  const prng = new Prng(7);
  let sum = 0;
  for (let w = 0; w < walks; w++) {
    const exec = new Execution(inst);
    exec.start();
    let product = 1;
    for (let m = exec.enabled(); m.length && !exec.bug; m = exec.enabled()) {
      product *= m.length;
      exec.apply(m[prng.below(m.length)]);
    }
    sum += product;
  }
  return sum / walks;
}

/** Time from the start of the search to the first bug, without shrinking (median over 10 seeds). */
async function timeToBug(variant: string, strategy: 'pct' | 'random', target: Bundled) {
  const inst = instantiate(target.scenario, variant);
  const times: number[] = [];
  for (let seed = 0; seed < 10; seed++) {
    const lane = strategy === 'pct' ? new SamplingSearch('pct', seed, 3) : new SamplingSearch('random', seed);
    const t = performance.now();
    const out = await explore(inst, [{ lanes: [lane], cap: Number.POSITIVE_INFINITY }], {
      maxSchedules: 100_000,
      budgetMs: 60_000,
    });
    times.push(out.bug ? performance.now() - t : Number.NaN);
  }
  const found = times.filter((x) => !Number.isNaN(x));
  return found.length === times.length ? median(found) : Number.NaN;
}

interface Row {
  variant: string;
  verdict: string;
  executions: number;
  classes: number | undefined;
  naive: number;
  states: number | undefined;
  stepsPerSec: number;
  ms: number;
  pct: number | undefined;
  random: number | undefined;
  speedup: number;
}

async function variantTable(): Promise<Row[]> {
  const rows: Row[] = [];
  await checkOne('fixed', { workers: 1, maxSchedules: 50 }); // warm-up
  for (const target of BUNDLED)
    for (const variant of Object.keys(target.scenario.variants)) {
      const one: number[] = [];
      const two: number[] = [];
      let report: Awaited<ReturnType<typeof checkOne>> | undefined;
      for (let i = 0; i < SPEEDUP_REPEATS; i++) {
        report = await checkOne(variant, { workers: 1 }, target);
        one.push(report.elapsedMs);
        two.push((await checkOne(variant, { workers: 2 }, target)).elapsedMs);
      }
      const r = report!;
      const bug = r.verdict === 'bug';
      rows.push({
        variant: `${target.scenario.name}:${variant}`,
        verdict: `${r.verdict}${r.exhaustive ? ', exhaustive' : ''}`,
        executions: r.schedules,
        classes: r.classes,
        naive: naiveInterleavings(variant, target),
        states: r.states,
        stepsPerSec: (r.steps * 1000) / Math.max(1, median(one)),
        ms: median(one),
        pct: bug ? await timeToBug(variant, 'pct', target) : undefined,
        random: bug ? await timeToBug(variant, 'random', target) : undefined,
        speedup: median(one) / Math.max(1, median(two)),
      });
    }
  return rows;
}

/**
 * Live mode: free-running runs/s (every actor on its own thread over shared memory, each
 * run checked after), and the cost of a step in controlled mode against in process, on
 * the same seeds.
 */
async function liveTable() {
  const free = [];
  for (const { target, variant } of [
    { target: BUNDLED.find((b) => b.scenario === runstate)!, variant: 'fixed' },
    { target: MMIO_SPLIT, variant: 'fixed' },
  ]) {
    const inst = instantiate(target.scenario, variant);
    const runner = new LiveRunner(inst, target.file);
    await runner.run(); // threads start
    const t0 = performance.now();
    let runs = 0;
    let exact = 0;
    while (performance.now() - t0 < LIVE_MS) {
      if (checkLive(inst, (await runner.run()).logs).exact) exact++;
      runs++;
    }
    await runner.close();
    free.push({
      variant: `${target.scenario.name}:${variant}`,
      runsPerSec: (runs * 1000) / (performance.now() - t0),
      runs,
      exact,
    });
  }
  const target = BUNDLED.find((b) => b.scenario === runstate)!;
  const inst = instantiate(target.scenario, 'fixed');
  const threads = new ActorThreads(target.file);
  threads.reset(inst);
  const controlledMs: number[] = [];
  const inProcessMs: number[] = [];
  let steps = 0;
  for (let round = 0; round < REPEATS; round++) {
    let t = performance.now();
    steps = 0;
    for (let seed = 0; seed < LIVE_SEEDS; seed++) steps += controlledRun(inst, threads, seed).steps;
    controlledMs.push(performance.now() - t);
    t = performance.now();
    for (let seed = 0; seed < LIVE_SEEDS; seed++) {
      const s = new RandomStrategy(seed);
      s.begin(0);
      runExecution(inst, s, 0);
    }
    inProcessMs.push(performance.now() - t);
  }
  await threads.close();
  return {
    free,
    steps,
    controlledUs: (median(controlledMs) * 1000) / steps,
    inProcessUs: (median(inProcessMs) * 1000) / steps,
  };
}

const rows = await variantTable();
const live = await liveTable();
const rate = await checkRate();
const rv = rawVsEngine();
const wall = cliWall();
const par = await parallelTable();
const lines = [
  '# vcpusim benchmarks',
  '',
  `Written by \`npm run bench\` (bench/run.ts); do not edit by hand. vcpusim ${VERSION}, Node ${process.version},`,
  `${cpus().length} × ${cpus()[0]?.model.trim()}. Every figure is the median of ${REPEATS} runs.`,
  '',
  '## Every bundled variant, default strategy (portfolio)',
  '',
  "Executions: as `vcpusim check` runs them (DPOR first). Naive: the number of interleavings, by Knuth's",
  'estimator over random walks (exact when there is one). Time to first bug: PCT (depth 3) and random',
  `search, median over 10 seeds, without shrinking. Speedup: \`--workers 2\` against \`--workers 1\`, medians of ${SPEEDUP_REPEATS} runs.`,
  '',
  '| variant | verdict | executions (classes) | naive | reduction | states | steps/s | time | first bug PCT / random | 2 workers |',
  '|---|---|---|---|---|---|---|---|---|---|',
  ...rows.map((r) => {
    const ms = (x: number | undefined) =>
      x === undefined ? '-' : Number.isNaN(x) ? 'not found' : `${fmt(x)} ms`;
    const classes = r.classes === undefined ? '' : ` (${fmt(r.classes)})`;
    return `| ${r.variant} | ${r.verdict} | ${fmt(r.executions)}${classes} | ${fmtBig(r.naive)} | ${fmtBig(r.naive / Math.max(1, r.executions))}× | ${r.states === undefined ? '-' : fmt(r.states)} | ${fmt(r.stepsPerSec)} | ${fmt(r.ms)} ms | ${ms(r.pct)} / ${ms(r.random)} | ${r.speedup.toFixed(2)}× |`;
  }),
  '',
  '## Parallel exhaustive search',
  '',
  `\`vcpusim ${WORKLOAD.slice(0, 6).join(' ')}\` (bench/workloads/ioreq.ts: the corpus ioreq handshake, 5 vCPUs):`,
  `${fmt(par.executions)} executions, exhaustive, the same with 1 and 2 workers. Wall times, medians of ${SPEEDUP_REPEATS} runs. The`,
  "machine's limit: two independent `--workers 1` runs at once, against one alone (2 × alone / pair).",
  '',
  '| --workers 1 | --workers 2 | speedup | the machine allows |',
  '|---|---|---|---|',
  `| ${fmt(par.one)} ms | ${fmt(par.two)} ms | ${par.speedup.toFixed(2)}× | ${par.ceiling.toFixed(2)}× |`,
  '',
  '## The engine',
  '',
  '| measure | value |',
  '|---|---|',
  `| \`check mmio-split:fixed\` executions/s (random, ${SCHEDULES} schedules) | ${fmt(rate.execs)} |`,
  `| \`check mmio-split:fixed\` steps/s | ${fmt(rate.steps)} |`,
  `| raw xstate \`actor.send\`/s, same machines and events (${fmt(rv.sends)} sends in ${rv.executions} executions) | ${fmt(rv.rawSendsPerSec)} |`,
  `| those ${rv.executions} executions: raw xstate / engine / engine with the invariants | ${fmt(rv.rawMs)} / ${fmt(rv.engineMs)} / ${fmt(rv.fullMs)} ms |`,
  `| engine overhead over raw xstate (median of per-round ratios) | ${rv.ratio.toFixed(2)}× |`,
  `| engine plus mmio-split's invariants I1-I7 over raw xstate | ${rv.fullRatio.toFixed(2)}× |`,
  `| wall time of \`npx vcpusim check mmio-split:pre-fix\`, start to verdict | ${fmt(wall)} ms |`,
  '',
  '## Live mode',
  '',
  `Free-running: every actor on its own worker thread over shared memory, runs for ${LIVE_MS / 1000} s after the threads`,
  'start, each run replayed through the checkers after it (exact: the replay read what the threads read).',
  `Controlled: the same threads, the scheduler granting each step; ${LIVE_SEEDS} seeds of \`runstate:fixed\`, median of ${REPEATS} rounds.`,
  '',
  '| measure | value |',
  '|---|---|',
  ...live.free.map(
    (f) =>
      `| \`live ${f.variant}\` runs/s (${fmt(f.runs)} runs, ${fmt(f.exact)} exact) | ${f.runsPerSec.toFixed(1)} |`,
  ),
  `| \`live --controlled runstate:fixed\`: µs per step on worker threads / in process (${fmt(live.steps)} steps) | ${live.controlledUs.toFixed(1)} / ${live.inProcessUs.toFixed(1)} µs (${(live.controlledUs / live.inProcessUs).toFixed(1)}×) |`,
  '',
];
writeFileSync(new URL('./results.md', import.meta.url), lines.join('\n'));
process.stdout.write(lines.join('\n'));
