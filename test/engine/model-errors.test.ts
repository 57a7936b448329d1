import { describe, expect, it } from 'vitest';
import { assign, emit, setup } from 'xstate';
import {
  acquire,
  choose,
  cmpxchg,
  now,
  type OperationEvent,
  read,
  release,
  send,
  write,
} from '../../src/actions/index.ts';
import { replayMoves } from '../../src/explore/run-execution.ts';
import { ModelError } from '../../src/model/errors.ts';
import type { DoneEvent } from '../../src/model/operation.ts';
import {
  type Op,
  oneShot,
  runRandom,
  scenarioInstance,
  started,
  type TestScenario,
  thrown,
} from '../fixtures/engine.ts';

/** The ModelError a random run of the scenario throws. */
function modelError(spec: TestScenario): ModelError {
  const e = thrown(() => runRandom(scenarioInstance(spec), 0));
  expect(e).toBeInstanceOf(ModelError);
  return e as ModelError;
}

describe('model errors', () => {
  it("rejects an emitted event that is not an operation ('unknown-operation'), naming the actor", () => {
    const m = setup({ types: { emitted: {} as { type: 'poke' } } }).createMachine({
      id: 'emitter',
      initial: 'working',
      states: { working: { entry: emit({ type: 'poke' }) } },
    });
    const e = modelError({ actors: { vcpu7: { machine: m } } });
    expect(e.kind).toBe('unknown-operation');
    expect(e.exitCode).toBe(3);
    expect(e.message).toContain("actor 'vcpu7'");
    expect(e.message).toContain("'poke'");
    expect(e.where.actor).toBe('vcpu7');
  });

  it("rejects an operation event with an unknown op ('unknown-operation')", () => {
    const m = setup({ types: { emitted: {} as { type: 'vcpusim.op'; op: string } } }).createMachine({
      id: 'emitter',
      initial: 'working',
      states: { working: { entry: emit({ type: 'vcpusim.op', op: 'frobnicate' }) } },
    });
    const e = modelError({ actors: { a: { machine: m } } });
    expect(e.kind).toBe('unknown-operation');
    expect(e.message).toContain("unknown operation 'frobnicate'");
  });

  it("rejects a send to an unknown actor ('unknown-actor'), naming both", () => {
    const e = modelError({ actors: { dm: { machine: oneShot([send('vcpu9', { type: 'evtchn' })]) } } });
    expect(e.kind).toBe('unknown-actor');
    expect(e.message).toContain("actor 'dm'");
    expect(e.message).toContain("unknown actor 'vcpu9'");
    expect(e.where.actor).toBe('dm');
  });

  it("rejects an access outside the declared memory ('out-of-bounds'), naming actor and address", () => {
    const e = modelError({ actors: { reader: { machine: oneShot([read(0x9000, 4, 'x')]) } } });
    expect(e.kind).toBe('out-of-bounds');
    expect(e.message).toContain("actor 'reader'");
    expect(e.message).toContain('0x9000');
    expect(e.where.actor).toBe('reader');

    // An access that starts inside the declared memory (0x1000-0x2fff) and runs off its end.
    const w = modelError({ actors: { writer: { machine: oneShot([write(0x2ffe, [1, 2, 3, 4])]) } } });
    expect(w.kind).toBe('out-of-bounds');
    expect(w.message).toContain("actor 'writer'");
    expect(w.message).toContain('address 0x3000');
  });

  it("stops an actor that exceeds bounds.actorSteps ('step-bound'), naming it", () => {
    const looper = setup({ types: { events: {} as DoneEvent, emitted: {} as OperationEvent } }).createMachine(
      {
        id: 'looper',
        initial: 'spin',
        states: { spin: { entry: now('t'), on: { 'ops.done': { target: 'spin', reenter: true } } } },
      },
    );
    const e = modelError({ actors: { spinner: { machine: looper } }, actorSteps: 5 });
    expect(e.kind).toBe('step-bound');
    expect(e.message).toContain("actor 'spinner'");
    expect(e.message).toContain('5 steps');
    expect(e.where).toMatchObject({ actor: 'spinner', step: 6 });
  });

  it('lets an actor take exactly bounds.actorSteps steps', () => {
    const five = oneShot([now('a'), now('b'), now('c'), now('d'), now('e')]);
    const r = runRandom(scenarioInstance({ actors: { a: { machine: five } }, actorSteps: 5 }), 0);
    expect(r.steps).toBe(5);
    expect(r.bug).toBeUndefined();
    const six = oneShot([now('a'), now('b'), now('c'), now('d'), now('e'), now('f')]);
    expect(modelError({ actors: { a: { machine: six } }, actorSteps: 5 }).kind).toBe('step-bound');
  });

  it("reports an action that throws ('machine-error'), naming actor and state", () => {
    const m = setup({ types: { events: {} as DoneEvent, emitted: {} as OperationEvent } }).createMachine({
      id: 'thrower',
      initial: 'working',
      states: {
        working: {
          entry: now('t'),
          on: {
            'ops.done': {
              target: 'after',
              actions: () => {
                throw new Error('kaboom');
              },
            },
          },
        },
        after: {},
      },
    });
    const e = modelError({ actors: { cpu: { machine: m } } });
    expect(e.kind).toBe('machine-error');
    expect(e.message).toContain("actor 'cpu'");
    expect(e.message).toContain("state 'working'");
    expect(e.message).toContain('kaboom');
    expect(e.where).toMatchObject({ actor: 'cpu', state: 'working', step: 1 });
  });

  it("reports a throwing assign at start ('machine-error')", () => {
    const m = setup({}).createMachine({
      id: 'bad-start',
      context: { x: 0 },
      entry: assign({
        x: () => {
          throw new Error('no input');
        },
      }),
    });
    const e = modelError({ actors: { a: { machine: m } } });
    expect(e.kind).toBe('machine-error');
    expect(e.message).toContain("actor 'a'");
    expect(e.message).toContain('no input');
  });

  it("rejects undeclared locks ('unknown-lock') and malformed operations ('bad-operation')", () => {
    const unknownLock = modelError({ actors: { a: { machine: oneShot([acquire('nope')]) } } });
    expect(unknownLock.kind).toBe('unknown-lock');
    expect(unknownLock.message).toContain("'nope'");

    const cases: [Op[], RegExp][] = [
      [[release('L')], /releases lock 'L', which it does not hold/],
      [[acquire('L', 'shared')], /takes spinlock 'L' in shared mode/],
      [[cmpxchg(0x1001, [0, 0], [1, 1], 'c')], /cmpxchg 0x1001 is not one naturally aligned unit/],
      [[cmpxchg(0x1000, [0], [1, 1], 'c')], /not one naturally aligned unit/],
      [[choose('c', [])], /chooses 'c' among no options/],
      [[write(0x1000, [256])], /not an array of bytes/],
      [[read(0x1000, 0, 'r')], /bad width 0/],
    ];
    for (const [ops, msg] of cases) {
      const e = modelError({ actors: { a: { machine: oneShot(ops) } }, locks: { L: 'spinlock' } });
      expect(e.kind, String(msg)).toBe('bad-operation');
      expect(e.message).toMatch(msg);
      expect(e.message).toContain("actor 'a'");
    }
  });

  it("reports an invariant that throws as an invalid scenario ('invalid')", () => {
    const e = modelError({
      actors: { a: { machine: oneShot([now('t')]) } },
      invariants: {
        fragile: () => {
          throw new Error('oops');
        },
      },
    });
    expect(e.kind).toBe('invalid');
    expect(e.message).toContain("invariant 'fragile'");
    expect(e.message).toContain('oops');
  });

  it("rejects a bad lock kind when the execution is built ('invalid')", () => {
    const e = thrown(() =>
      started(
        scenarioInstance({ actors: { a: { machine: oneShot([]) } }, locks: { L: 'mutex' as 'spinlock' } }),
      ),
    );
    expect(e).toBeInstanceOf(ModelError);
    expect((e as ModelError).kind).toBe('invalid');
    expect(e.message).toContain("lock 'L'");
  });
});

describe('replay divergence', () => {
  const inst = () =>
    scenarioInstance({
      actors: { a: { machine: oneShot([now('t'), now('u')]) }, b: { machine: oneShot([now('t')]) } },
    });

  it('replays a schedule that fits', () => {
    const r = replayMoves(inst(), ['b', 'a', 'a']);
    expect(r.bug).toBeUndefined();
    expect(r.records.map((s) => s.what)).toEqual(['now (t) = 1', 'now (t) = 2', 'now (u) = 3']);
  });

  it("fails with 'divergence' at the step whose move is not enabled", () => {
    const e = thrown(() => replayMoves(inst(), ['a', 'b', 'b']));
    expect(e).toBeInstanceOf(ModelError);
    const m = e as ModelError;
    expect(m.kind).toBe('divergence');
    expect(m.where.step).toBe(3);
    expect(m.message).toContain('step 3');
    expect(m.message).toContain("expects 'b'");
    expect(m.message).toContain('the enabled moves are: a');
  });

  it('says what the recorded step did when it is given', () => {
    const e = thrown(() =>
      replayMoves(inst(), ['a', 'b', 'b'], { whats: ['now (t) = 1', 'now (t) = 2', 'now (u) = 3'] }),
    ) as ModelError;
    expect(e.kind).toBe('divergence');
    expect(e.message).toContain("expects 'b' to now (u) = 3");
  });

  it('names an unknown move and a choice that does not exist', () => {
    const e = thrown(() => replayMoves(inst(), ['zz'])) as ModelError;
    expect(e.kind).toBe('divergence');
    expect(e.where.step).toBe(1);
    expect(e.message).toContain('the enabled moves are: a, b');
    const c = thrown(() =>
      replayMoves(scenarioInstance({ actors: { a: { machine: oneShot([choose('c', [1, 2])]) } } }), ['a#2']),
    ) as ModelError;
    expect(c.kind).toBe('divergence');
    expect(c.message).toContain('a#0, a#1');
  });

  it('fails when the trace ends while the model can still move, or goes on after it stops', () => {
    const short = thrown(() => replayMoves(inst(), ['a', 'a'])) as ModelError;
    expect(short.kind).toBe('divergence');
    expect(short.where.step).toBe(3);
    expect(short.message).toContain('ends after 2 steps');
    const long = thrown(() => replayMoves(inst(), ['a', 'a', 'b', 'b'])) as ModelError;
    expect(long.kind).toBe('divergence');
    expect(long.where.step).toBe(4);
    expect(long.message).toContain('none');
  });
});
