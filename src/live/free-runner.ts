import type { EventObject } from 'xstate';
import { atomicUnits } from '../memory/atomic-units.ts';
import { GuestMemory } from '../memory/guest-memory.ts';
import { ModelError, type ModelErrorKind } from '../model/errors.ts';
import { DONE_EVENT } from '../model/operation.ts';
import { ActorHost, type Pending } from '../runtime/actor-host.ts';
import { LockTable } from '../runtime/locks.ts';
import { moveKey } from '../runtime/step.ts';
import { validateOperation } from '../runtime/validate-operation.ts';
import type { ScenarioInstance } from '../scenario/instance.ts';
import { type SharedWorld, Status } from './shared-world.ts';

/** One step an actor took in a free-running run, with its place in the global order. */
export interface LiveStep {
  /** From the shared ticket counter: the order the post-run check replays the steps in. */
  readonly ticket: number;
  readonly move: string;
  /** The bytes a memory step read or wrote (a cmpxchg: what it left), as a replay records them. */
  readonly bytes?: readonly number[];
  /**
   * Another thread took a ticket while this step (a memory access, a trylock, a clock
   * read) was under way: the two overlapped in real time, and the ticket order may not be
   * the order they took effect in.
   */
  readonly overlapped?: boolean;
}

export interface LiveLog {
  readonly actor: string;
  readonly steps: readonly LiveStep[];
}

/** How long a waiting thread sleeps before it looks at the stop flag again. */
const NAP_MS = 2;

/**
 * One actor's side of a free-running `live` run, on its own worker thread: its xstate
 * machine, and its operations performed directly on the shared world (shared-world.ts),
 * at the real speed of the hardware. Every step takes a ticket from the shared counter
 * (before a memory access, send or release; after a successful acquire or a delivery,
 * so that the ticket order respects what each synchronisation saw) and is logged; the
 * main thread merges the logs and replays them through the checkers
 * (src/live/live-check.ts). Runs until the machine is done or the main thread says stop.
 */
export function freeRun(
  instance: ScenarioInstance,
  actor: string,
  world: SharedWorld,
  random: () => number = Math.random,
): LiveLog {
  const names = instance.actors.map((a) => a.name);
  const me = names.indexOf(actor);
  const spec = instance.actors[me];
  if (!spec) throw new ModelError('invalid', `scenario '${instance.scenario.name}' has no actor '${actor}'`);
  const fail = (kind: ModelErrorKind, message: string): never => {
    throw new ModelError(kind, `actor '${actor}' ${message}`, { actor });
  };
  // Validation only reads the declared layout and lock names.
  const layout = { memory: new GuestMemory(instance.image), locks: new LockTable(instance.locks) };
  const actors = new Map(names.map((n) => [n, true]));
  const h = new ActorHost(actor, spec.machine, spec.input);
  const steps: LiveStep[] = [];
  let count = 0;

  const afterTransition = (what: string, eventType: string) => {
    if (h.error !== undefined) {
      const msg = h.error instanceof Error ? h.error.message : String(h.error);
      fail('machine-error', `threw in state '${h.state || '(initial)'}' handling ${what}: ${msg}`);
    }
    h.refreshState();
    for (const ev of h.emitted.splice(0)) h.queue.push(pending(ev, eventType));
  };
  const pending = (ev: EventObject, eventType: string): Pending => {
    const o = validateOperation(ev, eventType, { ...layout, actors, fail });
    if (o.op === 'read') return { op: o, units: atomicUnits(o.addr, o.width), next: 0, acc: [] };
    if (o.op === 'write') return { op: o, units: atomicUnits(o.addr, o.bytes.length), next: 0, acc: [] };
    return { op: o, next: 0, acc: [] };
  };
  const log = (ticket: number, move: string, bytes?: readonly number[], overlapped = false) => {
    steps.push({ ticket, move, ...(bytes ? { bytes } : {}), ...(overlapped ? { overlapped } : {}) });
    world.countStep(me);
    if (++count > instance.actorSteps)
      fail('step-bound', `ran past the step bound of ${instance.actorSteps} steps (in state '${h.state}')`);
  };
  /** The head operation is complete: the machine hears of it when its queue empties. */
  const completed = () => {
    h.queue.shift();
    if (h.queue.length > 0) return;
    const results = h.results;
    h.results = {};
    if (h.done) return;
    h.actor.send({ type: DONE_EVENT, results } as EventObject);
    afterTransition('completion', DONE_EVENT);
  };

  world.setStatus(me, Status.Running);
  world.startTogether();
  h.actor.start();
  afterTransition('start', 'xstate.init');
  while (!world.stopped) {
    const p = h.queue[0];
    if (!p) {
      if (h.done) break;
      // Idle: a message from some sender, in declaration order, or sleep until one comes.
      const seen = world.doorbell(me);
      world.setStatus(me, Status.Running);
      const from = names.findIndex((_, f) => world.waiting(f, me));
      if (from < 0) {
        world.setStatus(me, Status.Idle);
        world.waitDoorbell(me, seen, NAP_MS);
        continue;
      }
      const ev = world.take(from, me)!;
      log(world.ticket(), moveKey({ actor, kind: 'deliver', from: names[from] }));
      h.actor.send(ev);
      afterTransition(`'${ev.type}'`, ev.type);
      continue;
    }
    const o = p.op;
    switch (o.op) {
      case 'acquire': {
        const i = world.lock(o.lock);
        if (!world.tryLock(i, o.mode)) {
          world.setStatus(me, Status.Blocked);
          Atomics.wait(world.lockWords, i, Atomics.load(world.lockWords, i), NAP_MS);
          continue;
        }
        world.setStatus(me, Status.Running);
        log(world.ticket(), actor);
        completed();
        break;
      }
      case 'tryAcquire': {
        const t = world.ticket();
        const ok = world.tryLock(world.lock(o.lock), o.mode);
        h.results[o.tag] = ok;
        log(t, actor, undefined, world.tickets() !== t + 1);
        completed();
        break;
      }
      case 'release': {
        const t = world.ticket();
        const i = world.lock(o.lock);
        // The word says how this actor holds it: -1 exclusively, n > 0 shared.
        world.unlock(i, world.lockWords[i] < 0 ? 'exclusive' : 'shared');
        log(t, actor);
        completed();
        break;
      }
      case 'send': {
        const t = world.ticket();
        world.put(actor, o.to, o.event);
        log(t, actor);
        completed();
        break;
      }
      case 'read':
      case 'write': {
        const u = p.units![p.next++];
        const isWrite = o.op === 'write';
        const t = world.ticket();
        const r = isWrite
          ? world.writeUnit(u.addr, o.bytes.slice(u.offset, u.offset + u.width))
          : world.readUnit(u.addr, u.width);
        const overlapped = world.tickets() !== t + 1;
        if (!r.ok) {
          if (o.tag) h.results[o.tag] = r;
          log(t, actor);
          completed();
          break;
        }
        p.acc.push(...r.bytes);
        log(t, actor, r.bytes, overlapped);
        if (p.next === p.units!.length) {
          if (o.tag) h.results[o.tag] = { ok: true, bytes: isWrite ? o.bytes : p.acc };
          completed();
        }
        break;
      }
      case 'cmpxchg': {
        const t = world.ticket();
        const fault = world.fault(o.addr, 'write');
        if (fault) {
          h.results[o.tag] = { ok: false, fault, addr: o.addr };
          log(t, actor);
          completed();
          break;
        }
        const { ok, old } = world.cmpxchg(o.addr, o.expected, o.desired);
        h.results[o.tag] = { ok, old };
        log(t, actor, ok ? o.desired : old, world.tickets() !== t + 1);
        completed();
        break;
      }
      case 'choose': {
        const i = Math.floor(random() * o.options.length);
        h.results[o.tag] = o.options[i];
        log(world.ticket(), moveKey({ actor, kind: 'op', choice: i }));
        completed();
        break;
      }
      case 'now': {
        const t = world.ticket();
        const v = world.now();
        h.results[o.tag] = v;
        log(t, actor, undefined, world.tickets() !== t + 1);
        completed();
        break;
      }
      case 'assert':
        log(world.ticket(), actor);
        completed();
        break;
    }
  }
  world.setStatus(me, Status.Done);
  return { actor, steps };
}
