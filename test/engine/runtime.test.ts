import { describe, expect, it, vi } from 'vitest';
import { assign, setup } from 'xstate';
import {
  acquire,
  assert,
  choose,
  cmpxchg,
  now,
  type OperationEvent,
  read,
  release,
  send,
  tryAcquire,
  write,
} from '../../src/actions/index.ts';
import { replayMoves } from '../../src/explore/run-execution.ts';
import type { Bytes, DoneEvent } from '../../src/model/operation.ts';
import { dependent, type Footprint, type LockAccess, moveKey, parseMoveKey } from '../../src/runtime/step.ts';
import {
  allSchedules,
  applyKey,
  enabledKeys,
  oneShot,
  type Results,
  runRandom,
  scenarioInstance,
  started,
} from '../fixtures/engine.ts';

const resultsOf = (r: unknown) => r as { ok: boolean; bytes: Bytes };

const NEW = [1, 1, 1, 1, 2, 2, 2, 2];
const writer = oneShot([write(0x1ffc, NEW, 'w')], 'writer');

/** Reads 8 bytes at 0x1ffc, then asserts it did not see half of the writer's store. */
const reader = setup({
  types: {
    context: {} as { seen: number[] },
    events: {} as DoneEvent,
    emitted: {} as OperationEvent,
  },
  actions: {
    checkNotTorn: assert(
      ({ context }) => context.seen.every((b) => b === 0) || context.seen.every((b, i) => b === NEW[i]),
      ({ context }) => `torn read ${context.seen.join(',')}`,
    ),
  },
}).createMachine({
  id: 'reader',
  context: { seen: [] },
  initial: 'reading',
  states: {
    reading: {
      entry: read(0x1ffc, 8, 'v'),
      on: {
        'ops.done': {
          target: 'checking',
          actions: assign({ seen: ({ event }) => [...resultsOf(event.results.v).bytes] }),
        },
      },
    },
    checking: { entry: 'checkNotTorn', on: { 'ops.done': 'done' } },
    done: { type: 'final' },
  },
});

const tornInstance = () =>
  scenarioInstance({ actors: { writer: { machine: writer }, reader: { machine: reader } } });

describe('steps', () => {
  it('performs one operation per step, in program order', () => {
    const inst = scenarioInstance({
      actors: { a: { machine: oneShot([write(0x1000, [1]), write(0x1004, [2]), now('n')]) } },
    });
    const exec = started(inst);
    expect(exec.stepCount).toBe(0);
    expect(enabledKeys(exec)).toEqual(['a']);
    expect(exec.memory.peek(0x1000, 5)).toEqual([0, 0, 0, 0, 0]);

    let r = applyKey(exec, 'a')!;
    expect(r.what).toBe('write 0x1000/1');
    expect(exec.memory.peek(0x1000, 5)).toEqual([1, 0, 0, 0, 0]);
    expect(r.stateAfter).toBe('run'); // still busy: no completion yet

    r = applyKey(exec, 'a')!;
    expect(r.what).toBe('write 0x1004/1');
    expect(exec.memory.peek(0x1000, 5)).toEqual([1, 0, 0, 0, 2]);
    expect(r.stateAfter).toBe('run');

    r = applyKey(exec, 'a')!;
    expect(r.what).toBe('now (n) = 1');
    expect(r.stateAfter).toBe('end');
    expect(exec.stepCount).toBe(3);
    expect(exec.enabled()).toEqual([]);
    expect(exec.finish()).toBeUndefined();
  });

  it('performs an unaligned 8-byte write in two steps, low half first', () => {
    const exec = started(scenarioInstance({ actors: { w: { machine: writer } } }));
    const r1 = applyKey(exec, 'w')!;
    expect(r1.what).toBe('write 0x1ffc/4 (w) [1/2]');
    expect(exec.memory.peek(0x1ffc, 8)).toEqual([1, 1, 1, 1, 0, 0, 0, 0]);
    expect(r1.stateAfter).toBe('run');
    const r2 = applyKey(exec, 'w')!;
    expect(r2.what).toBe('write 0x2000/4 (w) [2/2]');
    expect(exec.memory.peek(0x1ffc, 8)).toEqual(NEW);
    expect(r2.stateAfter).toBe('end');
    expect(exec.enabled()).toEqual([]);
  });

  it('lets a concurrent reader see half of a split write (driven schedule)', () => {
    // writer low half, reader low half, reader high half, writer high half.
    const exec = started(tornInstance());
    for (const k of ['writer', 'reader', 'reader']) applyKey(exec, k);
    expect(exec.view.context<{ seen: number[] }>('reader').seen).toEqual([1, 1, 1, 1, 0, 0, 0, 0]);
    applyKey(exec, 'reader'); // the assert step
    expect(exec.bug?.kind).toBe('assertion');
    expect(exec.bug?.message).toContain('torn read 1,1,1,1,0,0,0,0');

    // The opposite tear: reader low half first, then the whole write, then the reader's high half.
    const other = started(tornInstance());
    for (const k of ['reader', 'writer', 'writer', 'reader']) applyKey(other, k);
    expect(other.view.context<{ seen: number[] }>('reader').seen).toEqual([0, 0, 0, 0, 2, 2, 2, 2]);
  });

  it('reaches both torn and untorn reads under random schedules', () => {
    const inst = tornInstance();
    const outcomes = new Set<string>();
    for (let seed = 0; seed < 60; seed++) {
      const r = runRandom(inst, seed);
      outcomes.add(r.bug ? r.bug.message.replace(/.*torn read /, 'torn ') : 'untorn');
    }
    expect(outcomes).toContain('untorn');
    expect([...outcomes].some((o) => o.startsWith('torn'))).toBe(true);
  });

  it('reaches exactly the two torn values over all schedules', () => {
    const runs = allSchedules(tornInstance());
    const torn = new Set(runs.filter((r) => r.bug).map((r) => r.bug!.message.replace(/.*torn read /, '')));
    expect(torn).toEqual(new Set(['1,1,1,1,0,0,0,0', '0,0,0,0,2,2,2,2']));
    expect(runs.some((r) => r.bug === undefined)).toBe(true);
    expect(runs.every((r) => r.bug === undefined || r.bug.kind === 'assertion')).toBe(true);
  });

  it('delivers messages from one sender in order, each delivery its own step', () => {
    const receiver = setup({
      types: { context: {} as { got: string[] }, events: {} as { type: string } },
    }).createMachine({
      id: 'receiver',
      context: { got: [] },
      initial: 'idle',
      states: {
        idle: {
          tags: ['idle'],
          on: { '*': { actions: assign({ got: ({ context, event }) => [...context.got, event.type] }) } },
        },
      },
    });
    const inst = scenarioInstance({
      actors: {
        a: { machine: oneShot([send('c', { type: 'a1' }), send('c', { type: 'a2' })], 'sa') },
        b: { machine: oneShot([send('c', { type: 'b1' })], 'sb') },
        c: { machine: receiver },
      },
    });
    const exec = started(inst);
    expect(enabledKeys(exec)).toEqual(['a', 'b']); // nothing to deliver yet
    applyKey(exec, 'a');
    applyKey(exec, 'a');
    applyKey(exec, 'b');
    // One delivery move per sender channel, the head message only.
    expect(enabledKeys(exec)).toEqual(['c<a', 'c<b']);
    const r = applyKey(exec, 'c<b')!;
    expect(r.what).toBe('deliver b1 from b');
    applyKey(exec, 'c<a');
    expect(enabledKeys(exec)).toEqual(['c<a']);
    applyKey(exec, 'c<a');
    expect(exec.view.context<{ got: string[] }>('c').got).toEqual(['b1', 'a1', 'a2']);
    expect(exec.enabled()).toEqual([]);
    expect(exec.finish()).toBeUndefined();
  });
});

describe('completion event', () => {
  it('carries the results of every operation by tag', () => {
    const inst = scenarioInstance({
      locks: { L: 'spinlock' },
      actors: {
        a: {
          machine: oneShot([
            write(0x1000, [1, 2, 3, 4], 'wr'),
            read(0x1000, 4, 'r'),
            cmpxchg(0x1000, [1, 2, 3, 4], [9, 8, 7, 6], 'swap'),
            cmpxchg(0x1000, [1, 2, 3, 4], [5, 5, 5, 5], 'miss'),
            tryAcquire('L', 'exclusive', 'got'),
            tryAcquire('L', 'exclusive', 'again'),
            choose('pick', ['x', 'y', 'z']),
            now('t1'),
            now('t2'),
          ]),
        },
      },
    });
    const exec = started(inst);
    for (const k of ['a', 'a', 'a', 'a', 'a', 'a', 'a#2', 'a', 'a']) applyKey(exec, k);
    expect(exec.view.actor('a').done).toBe(true);
    expect(exec.view.context<Results>('a').results).toEqual({
      wr: { ok: true, bytes: [1, 2, 3, 4] },
      r: { ok: true, bytes: [1, 2, 3, 4] },
      swap: { ok: true, old: [1, 2, 3, 4] },
      miss: { ok: false, old: [9, 8, 7, 6] },
      got: true,
      again: false,
      pick: 'z',
      t1: 1,
      t2: 2,
    });
    expect(exec.memory.peek(0x1000, 4)).toEqual([9, 8, 7, 6]);
    expect(exec.locks.holders('L')).toEqual(['a']);
  });

  it('returns the fault of a faulting access and ends the access at the faulting unit', () => {
    const inst = scenarioInstance({
      memory: [
        { name: 'ram', base: 0x1000, pages: 1, type: 'ram' },
        { name: 'mmio', base: 0x2000, pages: 1, type: 'mmio' },
        { name: 'rom', base: 0x3000, pages: 1, type: 'ram-ro', init: [0xaa] },
      ],
      actors: {
        a: {
          machine: oneShot([
            write(0x1ffc, NEW, 'straddle'),
            read(0x2000, 8, 'dev'),
            write(0x3000, [1], 'ro'),
            read(0x3000, 1, 'rom'),
            cmpxchg(0x3000, [0xaa], [1], 'cx'),
          ]),
        },
      },
    });
    const exec = started(inst);
    const whats: string[] = [];
    while (exec.enabled().length) whats.push(applyKey(exec, 'a')!.what);
    expect(whats).toEqual([
      'write 0x1ffc/4 (straddle) [1/2]',
      'write 0x2000/4 (straddle) [2/2] → fault mmio',
      'read 0x2000/8 (dev) → fault mmio',
      'write 0x3000/1 (ro) → fault read-only',
      'read 0x3000/1 (rom)',
      'cmpxchg 0x3000/1 (cx) → fault read-only',
    ]);
    expect(exec.view.context<Results>('a').results).toEqual({
      straddle: { ok: false, fault: 'mmio', addr: 0x2000 },
      dev: { ok: false, fault: 'mmio', addr: 0x2000 },
      ro: { ok: false, fault: 'read-only', addr: 0x3000 },
      rom: { ok: true, bytes: [0xaa] },
      cx: { ok: false, fault: 'read-only', addr: 0x3000 },
    });
    // A fault touches no byte (it depends only on the fixed page type): its footprint is the actor alone.
    expect(exec.records.map((r) => r.footprint)).toEqual([
      { actor: 'a', object: { type: 'memory', addr: 0x1ffc, width: 4, write: true } },
      { actor: 'a' },
      { actor: 'a' },
      { actor: 'a' },
      { actor: 'a', object: { type: 'memory', addr: 0x3000, width: 1, write: false } },
      // The last step completes the queue: the actor's context changes.
      { actor: 'a', transition: true },
    ]);
    // The RAM half of the straddling write landed before the fault.
    expect(exec.memory.peek(0x1ffc, 4)).toEqual([1, 1, 1, 1]);
    expect(exec.memory.peek(0x3000, 1)).toEqual([0xaa]);
  });

  it('gives each actor the logical clock in the order of their now steps', () => {
    const inst = scenarioInstance({
      actors: { a: { machine: oneShot([now('t')], 'a') }, b: { machine: oneShot([now('t')], 'b') } },
    });
    const exec = started(inst);
    applyKey(exec, 'b');
    applyKey(exec, 'a');
    expect(exec.view.context<Results>('a').results).toEqual({ t: 2 });
    expect(exec.view.context<Results>('b').results).toEqual({ t: 1 });
  });

  it('runs operations emitted on entry to a final state without sending ops.done to the stopped actor', () => {
    // An actor that reached a final state has stopped: its queued operations still run, but
    // sending it the completion event would make xstate warn of an event sent to a stopped actor.
    const m = setup({ types: { emitted: {} as OperationEvent } }).createMachine({
      id: 'final-writer',
      initial: 'end',
      states: { end: { type: 'final', entry: write(0x1000, [7]) } },
    });
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const exec = started(scenarioInstance({ actors: { a: { machine: m } } }));
      applyKey(exec, 'a');
      expect(exec.memory.peek(0x1000, 1)).toEqual([7]);
      expect(warn).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
    }
  });
});

describe('choose', () => {
  it('makes each option a separate enabled move', () => {
    const inst = scenarioInstance({ actors: { a: { machine: oneShot([choose('c', ['x', 'y'])]) } } });
    const exec = started(inst);
    const moves = exec.enabled();
    expect(moves.map(moveKey)).toEqual(['a#0', 'a#1']);
    expect(moves.map((m) => m.choice)).toEqual([0, 1]);
    const r = applyKey(exec, 'a#1')!;
    expect(r.what).toBe('choose c = "y"');
    expect(r.move).toBe('a#1');
    expect(exec.view.context<Results>('a').results).toEqual({ c: 'y' });
  });

  it('explores every option', () => {
    const runs = allSchedules(
      scenarioInstance({ actors: { a: { machine: oneShot([choose('c', [10, 20, 30])]) } } }),
    );
    expect(runs.map((r) => r.moves)).toEqual([['a#0'], ['a#1'], ['a#2']]);
    expect(new Set(runs.map((r) => r.traceHash)).size).toBe(3);
  });
});

describe('locks', () => {
  const idleHolder = (lock: string, mode: 'exclusive' | 'shared' = 'exclusive') =>
    setup({ types: { events: {} as DoneEvent, emitted: {} as OperationEvent } }).createMachine({
      id: `hold-${lock}-${mode}`,
      initial: 'taking',
      states: {
        taking: { entry: acquire(lock, mode), on: { 'ops.done': 'holding' } },
        holding: { tags: ['idle'] },
      },
    });

  it('does not enable an acquire of a held spinlock', () => {
    const inst = scenarioInstance({
      locks: { L: 'spinlock' },
      actors: { a: { machine: idleHolder('L') }, b: { machine: idleHolder('L') } },
    });
    const exec = started(inst);
    expect(enabledKeys(exec)).toEqual(['a', 'b']);
    const r = applyKey(exec, 'a')!;
    expect(r.what).toBe('acquire L (exclusive) → granted');
    expect(exec.locks.holders('L')).toEqual(['a']);
    expect(exec.enabled()).toEqual([]);
    const bug = exec.finish();
    expect(bug?.kind).toBe('deadlock');
    expect(bug?.message).toBe('deadlock: b waits for L (exclusive) held by a');
  });

  it('lets readers share an rwlock and keeps a writer out while they hold it', () => {
    const inst = scenarioInstance({
      locks: { RW: 'rwlock' },
      actors: {
        r1: { machine: idleHolder('RW', 'shared') },
        r2: { machine: idleHolder('RW', 'shared') },
        w: { machine: idleHolder('RW', 'exclusive') },
      },
    });
    const exec = started(inst);
    applyKey(exec, 'r1');
    expect(enabledKeys(exec)).toEqual(['r2']);
    applyKey(exec, 'r2');
    expect(exec.locks.holders('RW')).toEqual(['r1', 'r2']);
    expect(exec.enabled()).toEqual([]);
    expect(exec.finish()?.message).toBe('deadlock: w waits for RW (exclusive) held by r1, r2');

    const other = started(inst);
    applyKey(other, 'w');
    expect(other.enabled()).toEqual([]); // a writer holds it: no reader may enter
    expect(other.finish()?.message).toContain('r1 waits for RW (shared) held by w');
  });

  it('blocks an actor that takes a spinlock it already holds', () => {
    const inst = scenarioInstance({
      locks: { L: 'spinlock' },
      actors: { a: { machine: oneShot([acquire('L'), acquire('L')]) } },
    });
    const exec = started(inst);
    applyKey(exec, 'a');
    expect(exec.enabled()).toEqual([]);
    expect(exec.finish()?.message).toBe('deadlock: a holds L and waits for L (held by a)');
  });

  const pair = (first: string, second: string, id: string) =>
    oneShot([acquire(first), acquire(second), release(second), release(first)], id);

  it('finds the ABBA deadlock on some schedule and names both locks', () => {
    const inst = scenarioInstance({
      locks: { L1: 'spinlock', L2: 'spinlock' },
      actors: { a: { machine: pair('L1', 'L2', 'ab') }, b: { machine: pair('L2', 'L1', 'ba') } },
    });
    const runs = allSchedules(inst);
    const deadlocks = runs.filter((r) => r.bug);
    expect(deadlocks.length).toBeGreaterThan(0);
    expect(runs.some((r) => r.bug === undefined)).toBe(true);
    for (const r of deadlocks) {
      expect(r.bug!.kind).toBe('deadlock');
      expect(r.bug!.message).toBe(
        'deadlock: a holds L1 and waits for L2 (held by b); b holds L2 and waits for L1 (held by a)',
      );
      expect(r.bug!.steps).toHaveLength(2);
    }
    // The shortest one: each takes its first lock.
    const exec = started(inst);
    applyKey(exec, 'a');
    applyKey(exec, 'b');
    expect(exec.enabled()).toEqual([]);
    expect(exec.finish()?.kind).toBe('deadlock');
  });

  it('never deadlocks when both take the locks in the same order', () => {
    const inst = scenarioInstance({
      locks: { L1: 'spinlock', L2: 'spinlock' },
      actors: { a: { machine: pair('L1', 'L2', 'ab') }, b: { machine: pair('L1', 'L2', 'ab2') } },
    });
    const runs = allSchedules(inst);
    expect(runs.length).toBeGreaterThan(1);
    expect(runs.filter((r) => r.bug)).toEqual([]);
    expect(runs.every((r) => r.steps === 8)).toBe(true);
  });
});

describe('end states', () => {
  const stopIn = (tags: string[] | undefined) =>
    setup({ types: { events: {} as DoneEvent, emitted: {} as OperationEvent } }).createMachine({
      id: `stop-${tags?.join('-') ?? 'untagged'}`,
      initial: 'working',
      states: {
        working: { entry: now('t'), on: { 'ops.done': 'waiting' } },
        waiting: { tags },
      },
    });

  it("reports liveness for an actor left in a 'hot' state", () => {
    const r = runRandom(scenarioInstance({ actors: { a: { machine: stopIn(['hot']) } } }), 1);
    expect(r.bug).toEqual({
      kind: 'liveness',
      message: "liveness: a ended in hot state 'waiting'",
      step: 1,
      actor: 'a',
    });
  });

  it('reports a deadlock for an actor left in an untagged state', () => {
    const r = runRandom(
      scenarioInstance({ actors: { a: { machine: stopIn(['idle']) }, b: { machine: stopIn(undefined) } } }),
      1,
    );
    expect(r.bug?.kind).toBe('deadlock');
    expect(r.bug?.actor).toBe('b');
    expect(r.bug?.message).toContain("b is stuck in state 'waiting'");
  });

  it("reports nothing when every actor is final or in an 'idle' state", () => {
    const r = runRandom(
      scenarioInstance({ actors: { a: { machine: stopIn(['idle']) }, b: { machine: oneShot([now('t')]) } } }),
      1,
    );
    expect(r.steps).toBe(2);
    expect(r.bug).toBeUndefined();
  });
});

describe('assertions and invariants', () => {
  it('reports a failed assert as an assertion bug with its message, and stops there', () => {
    const inst = scenarioInstance({
      actors: { a: { machine: oneShot([assert(true, 'fine'), assert(false, 'boom'), write(0x1000, [1])]) } },
    });
    const r = runRandom(inst, 0);
    expect(r.bug).toEqual({
      kind: 'assertion',
      message: "assertion failed in a (state 'run'): boom",
      step: 2,
      actor: 'a',
    });
    expect(r.steps).toBe(2);
    expect(r.moves).toEqual(['a', 'a']);
  });

  it('reports a broken invariant by name with its message', () => {
    const inst = scenarioInstance({
      actors: { a: { machine: oneShot([write(0x1000, [1]), write(0x1000, [2]), write(0x1000, [3])]) } },
      invariants: {
        neverTwo: (view) =>
          view.peek(0x1000, 1)[0] === 2 ? `saw 2 after ${view.lastStep?.what}` : undefined,
      },
    });
    const r = runRandom(inst, 0);
    expect(r.bug).toEqual({
      kind: 'invariant',
      invariant: 'neverTwo',
      message: 'invariant neverTwo broken: saw 2 after write 0x1000/1',
      step: 2,
      actor: 'a',
    });
    expect(r.steps).toBe(2);
  });

  it('treats false as broken and true as holding, and checks before the first step', () => {
    const a = { machine: oneShot([now('t')]) };
    const broken = runRandom(scenarioInstance({ actors: { a }, invariants: { never: () => false } }), 0);
    expect(broken.bug).toMatchObject({
      kind: 'invariant',
      invariant: 'never',
      message: 'invariant never broken: returned false',
      step: 0,
    });
    expect(broken.steps).toBe(0);
    const fine = runRandom(scenarioInstance({ actors: { a }, invariants: { always: () => true } }), 0);
    expect(fine.bug).toBeUndefined();
    expect(fine.steps).toBe(1);
  });
});

describe('footprints', () => {
  it('gives each memory step the exact unit it touches', () => {
    const inst = scenarioInstance({
      actors: { w: { machine: writer }, r: { machine: oneShot([read(0x1002, 2, 'x')]) } },
    });
    const run = replayMoves(inst, ['w', 'w', 'r']);
    expect(run.records.map((s) => s.footprint)).toEqual([
      { actor: 'w', object: { type: 'memory', addr: 0x1ffc, width: 4, write: true } },
      { actor: 'w', object: { type: 'memory', addr: 0x2000, width: 4, write: true }, transition: true },
      { actor: 'r', object: { type: 'memory', addr: 0x1002, width: 2, write: false }, transition: true },
    ]);
    expect(run.records[0].access).toEqual({
      kind: 'write',
      addr: 0x1ffc,
      width: 4,
      bytes: [1, 1, 1, 1],
      before: [0, 0, 0, 0],
    });
    expect(run.records[2].access).toEqual({
      kind: 'read',
      addr: 0x1002,
      width: 2,
      bytes: [0, 0],
      before: undefined,
    });
  });

  it('gives channel, lock, clock and choice steps their objects', () => {
    const receiver = setup({}).createMachine({
      id: 'rx',
      initial: 'idle',
      states: { idle: { tags: ['idle'] } },
    });
    const inst = scenarioInstance({
      locks: { L: 'spinlock' },
      actors: {
        a: {
          machine: oneShot([
            send('b', { type: 'ping' }),
            acquire('L'),
            release('L'),
            tryAcquire('L', 'exclusive', 't'),
            now('n'),
            choose('c', [1]),
            cmpxchg(0x1008, [0, 0], [1, 1], 'cx'),
          ]),
        },
        b: { machine: receiver },
      },
    });
    const run = replayMoves(inst, ['a', 'a', 'a', 'a', 'a', 'a#0', 'a', 'b<a']);
    expect(run.bug).toBeUndefined();
    expect(run.records.map((s) => s.footprint)).toEqual([
      { actor: 'a', object: { type: 'mailbox', owner: 'b', op: 'send' } },
      { actor: 'a', object: { type: 'lock', name: 'L', access: 'exclusive' } },
      { actor: 'a', object: { type: 'lock', name: 'L', access: 'release-exclusive' } },
      { actor: 'a', object: { type: 'lock', name: 'L', access: 'try-exclusive' } },
      { actor: 'a', object: { type: 'clock' } },
      { actor: 'a' },
      { actor: 'a', object: { type: 'memory', addr: 0x1008, width: 2, write: true }, transition: true },
      { actor: 'b', object: { type: 'mailbox', owner: 'b', op: 'deliver' }, transition: true },
    ]);
  });
});

describe('rwlock footprints', () => {
  it('lets shared holds commute and orders exclusive use', () => {
    const inst = scenarioInstance({
      locks: { R: 'rwlock' },
      actors: {
        a: {
          machine: oneShot([acquire('R', 'shared'), release('R'), acquire('R', 'exclusive'), release('R')]),
        },
        b: { machine: oneShot([tryAcquire('R', 'shared', 't'), release('R')]) },
      },
    });
    const run = replayMoves(inst, ['a', 'b', 'b', 'a', 'a', 'a']);
    expect(run.bug).toBeUndefined();
    expect(run.records.map((s) => [s.actor, (s.footprint.object as { access: string }).access])).toEqual([
      ['a', 'shared'],
      ['b', 'try-shared'],
      ['b', 'release-shared'],
      ['a', 'release-shared'],
      ['a', 'exclusive'],
      ['a', 'release-exclusive'],
    ]);
    // Two readers commute; a reader and a writer do not; a reader's release lets a writer in.
    expect(dependent(run.records[0].footprint, run.records[1].footprint)).toBe(false);
    expect(dependent(run.records[2].footprint, run.records[4].footprint)).toBe(true);
    expect(dependent(run.records[1].footprint, run.records[4].footprint)).toBe(true);
    expect(dependent(run.records[1].footprint, run.records[3].footprint)).toBe(false);
  });
});

describe('dependent', () => {
  const mem = (actor: string, addr: number, width: number, write: boolean): Footprint => ({
    actor,
    object: { type: 'memory', addr, width, write },
  });

  it('makes two steps of the same actor dependent, whatever they touch', () => {
    expect(dependent({ actor: 'a' }, { actor: 'a' })).toBe(true);
    expect(dependent(mem('a', 0, 1, false), mem('a', 100, 1, false))).toBe(true);
  });

  it('makes reads of the same bytes independent, and a read/write or write/write overlap dependent', () => {
    expect(dependent(mem('a', 0x1000, 4, false), mem('b', 0x1000, 4, false))).toBe(false);
    expect(dependent(mem('a', 0x1000, 4, false), mem('b', 0x1003, 1, true))).toBe(true);
    expect(dependent(mem('a', 0x1003, 1, true), mem('b', 0x1000, 4, false))).toBe(true);
    expect(dependent(mem('a', 0x1000, 8, true), mem('b', 0x1004, 4, true))).toBe(true);
  });

  it('makes disjoint (including adjacent) ranges independent', () => {
    expect(dependent(mem('a', 0x1000, 4, true), mem('b', 0x1004, 4, true))).toBe(false);
    expect(dependent(mem('a', 0x1004, 4, true), mem('b', 0x1000, 4, true))).toBe(false);
    expect(dependent(mem('a', 0x1ffc, 4, true), mem('b', 0x2000, 4, false))).toBe(false);
  });

  it('orders a delivery against sends into the same mailbox, and lets sends commute', () => {
    const mb = (actor: string, owner: string, op: 'send' | 'deliver'): Footprint => ({
      actor,
      object: { type: 'mailbox', owner, op },
    });
    expect(dependent(mb('a', 'c', 'send'), mb('c', 'c', 'deliver'))).toBe(true);
    expect(dependent(mb('a', 'c', 'send'), mb('b', 'c', 'send'))).toBe(false);
    expect(dependent(mb('a', 'c', 'send'), mb('d', 'd', 'deliver'))).toBe(false);
  });

  it('orders acquisitions unless both are shared, and a release against what it lets through', () => {
    const lk = (actor: string, name: string, access: LockAccess): Footprint => ({
      actor,
      object: { type: 'lock', name, access },
    });
    expect(dependent(lk('a', 'L', 'exclusive'), lk('b', 'L', 'exclusive'))).toBe(true);
    expect(dependent(lk('a', 'L', 'exclusive'), lk('b', 'M', 'exclusive'))).toBe(false);
    expect(dependent(lk('a', 'L', 'shared'), lk('b', 'L', 'shared'))).toBe(false);
    expect(dependent(lk('a', 'L', 'shared'), lk('b', 'L', 'try-exclusive'))).toBe(true);
    expect(dependent(lk('a', 'L', 'release-exclusive'), lk('b', 'L', 'shared'))).toBe(true);
    expect(dependent(lk('a', 'L', 'release-exclusive'), lk('b', 'L', 'try-shared'))).toBe(true);
    expect(dependent(lk('a', 'L', 'release-shared'), lk('b', 'L', 'exclusive'))).toBe(true);
    expect(dependent(lk('a', 'L', 'release-shared'), lk('b', 'L', 'shared'))).toBe(false);
    expect(dependent(lk('a', 'L', 'release-shared'), lk('b', 'L', 'release-shared'))).toBe(false);
  });

  it('orders clock steps, and never objects of different kinds', () => {
    const clock = (actor: string): Footprint => ({ actor, object: { type: 'clock' } });
    expect(dependent(clock('a'), clock('b'))).toBe(true);
    expect(dependent(clock('a'), mem('b', 0, 8, true))).toBe(false);
    expect(dependent({ actor: 'a' }, mem('b', 0, 8, true))).toBe(false);
  });

  it('orders a step whose invariant check read something against the steps that change it', () => {
    const checked: Footprint = {
      actor: 'a',
      observed: [
        { type: 'actor', name: 'b', write: false },
        { type: 'memory', addr: 0x1000, width: 1, write: false },
        { type: 'lock', name: 'L', access: 'observe' },
      ],
    };
    expect(dependent(checked, { actor: 'b', transition: true })).toBe(true);
    expect(dependent(checked, { actor: 'b' })).toBe(false);
    expect(dependent(checked, { actor: 'c', transition: true })).toBe(false);
    expect(dependent(checked, mem('c', 0x1000, 1, true))).toBe(true);
    expect(dependent(checked, mem('c', 0x1000, 1, false))).toBe(false);
    expect(
      dependent(checked, { actor: 'c', object: { type: 'lock', name: 'L', access: 'release-shared' } }),
    ).toBe(true);
    // Two checks that read the same thing commute.
    expect(dependent(checked, { ...checked, actor: 'c' })).toBe(false);
  });
});

describe('move keys', () => {
  it('round-trip through parseMoveKey', () => {
    for (const m of [
      { actor: 'vcpu0', kind: 'op' as const },
      { actor: 'vcpu0', kind: 'op' as const, choice: 2 },
      { actor: 'dm', kind: 'deliver' as const, from: 'vcpu0' },
    ]) {
      expect(parseMoveKey(moveKey(m))).toEqual(m);
    }
    expect(moveKey({ actor: 'dm', kind: 'deliver', from: 'vcpu1' })).toBe('dm<vcpu1');
    expect(parseMoveKey('a b')).toBeUndefined();
  });
});
