import type { AnyMachineSnapshot, EventObject } from 'xstate';
import { brokenInvariant } from '../checkers/invariants.ts';
import { HotStreaks } from '../checkers/liveness.ts';
import { type LockEdge, LockOrder, type LockOrderCheckpoint } from '../checkers/lock-order.ts';
import { type RaceCheckpoint, RaceDetector } from '../checkers/race-detector.ts';
import { terminationBug } from '../checkers/termination.ts';
import { atomicUnits } from '../memory/atomic-units.ts';
import { GuestMemory, OutOfBoundsError } from '../memory/guest-memory.ts';
import { ModelError } from '../model/errors.ts';
import { DONE_EVENT, hex } from '../model/operation.ts';
import type { ScenarioInstance } from '../scenario/instance.ts';
import { ActorHost, type ActorHosting, type Pending } from './actor-host.ts';
import { TraceHasher } from './hash.ts';
import { LockTable } from './locks.ts';
import { Mailboxes } from './mailbox.ts';
import { StateHasher } from './state-hash.ts';
import {
  type Bug,
  type Footprint,
  type FootprintObject,
  type MemoryAccess,
  type Move,
  moveKey,
  type StepRecord,
} from './step.ts';
import { validateOperation } from './validate-operation.ts';
import { makeWorldView, ReadTracker, type WorldView } from './world-view.ts';

export interface ExecutionOptions {
  /** Keep a StepRecord per step (for counterexamples); off in exploration for speed. */
  readonly record?: boolean;
  /**
   * Also fingerprint every actor context after each transition (`contextHashes`), so the
   * determinism check sees a difference even before it shows in an operation. Off in
   * exploration: hashing whole contexts per step costs more than the step.
   */
  readonly fingerprint?: boolean;
  /**
   * Record what the invariants read after each step into its footprint (`observed`), so
   * that partial-order reduction orders the steps the invariants can tell apart.
   */
  readonly trackReads?: boolean;
  /**
   * Resume from a checkpoint of an earlier execution of the same instance instead of
   * starting: the steps before it are not run again. `start()` must not be called.
   */
  readonly from?: Checkpoint;
  /** Hash the global state after every step (`stateHashes`), for counting and caching states. */
  readonly hashStates?: boolean;
  /** Collect every event sent to an actor (for the benchmark against raw xstate). */
  readonly transitions?: { actor: string; event: EventObject }[];
  /**
   * Lock orders other executions recorded, each with its `origin`: the lock-order checker
   * starts with them (a cross-execution inversion's other paths; src/checkers/lock-order.ts).
   */
  readonly lockOrders?: readonly LockEdge[];
  /** Record the name of every transition the machines take (`covered()`). */
  readonly coverage?: boolean;
  /** Run the machines there rather than in this thread (src/live/: `live --controlled`). */
  readonly hosting?: ActorHosting;
}

/**
 * The whole state of an execution after some step, to resume from without re-running the
 * steps before it. Actor snapshots are xstate's own (immutable); everything mutable is
 * copied, and copied again on every resume.
 */
export interface Checkpoint {
  readonly step: number;
  readonly actors: readonly {
    readonly snapshot: AnyMachineSnapshot;
    readonly queue: readonly Pending[];
    readonly results: Readonly<Record<string, unknown>>;
    readonly steps: number;
  }[];
  readonly mailboxes: Mailboxes;
  /** The memory's write log and how much of it had been written. */
  readonly memory: { readonly log: readonly number[]; readonly length: number };
  readonly locks: LockTable;
  readonly clock: number;
  readonly hash: readonly [number, number];
  readonly stepHashes: readonly number[];
  readonly stepHashCount: number;
  readonly stateHashes: readonly number[];
  readonly stateHashCount: number;
  /** The checkers' state (src/checkers/): each is copied, or replayed, on resume. */
  readonly checkers: {
    readonly race?: RaceCheckpoint;
    readonly lockOrder?: LockOrderCheckpoint;
    readonly hot?: HotStreaks;
    /** The transitions taken so far (append-only, like the memory log). */
    readonly coverage?: { readonly log: readonly string[]; readonly length: number };
  };
}

const copyPending = (p: Pending): Pending => ({ ...p, acc: [...p.acc] });

/**
 * One execution of a scenario instance (DESIGN §2, "Runtime"): the global state (actors,
 * mailboxes, memory, locks, logical clock), the moves enabled in it, and `apply`, which
 * performs one step, checks the invariants and extends the trace hash. Given the same
 * moves it produces the same trace, bit for bit.
 */
export class Execution {
  readonly memory: GuestMemory;
  readonly locks: LockTable;
  private readonly mailboxes: Mailboxes;
  private readonly hosts: ActorHost[];
  private readonly byName = new Map<string, ActorHost>();
  private readonly hasher = new TraceHasher();
  private clock = 0;
  stepCount = 0;
  bug: Bug | undefined;
  /** 32 bits of the rolling hash after each step ([0]: after start), to find where two runs part. */
  readonly stepHashes: number[] = [];
  /** With `fingerprint`: the hash of the stepping actor's context after each step. */
  readonly contextHashes: string[] = [];
  readonly records: StepRecord[] = [];
  /** With `hashStates`: the global state hash after each step. */
  readonly stateHashes: number[] = [];
  readonly view: WorldView;
  private lastStep: StepRecord | undefined;
  private readonly tracker: ReadTracker | undefined;
  private states: StateHasher | undefined;
  /** The checkers that watch steps as they happen (turned off: undefined). */
  private readonly race: RaceDetector | undefined;
  private readonly lockOrder: LockOrder | undefined;
  private readonly hot: HotStreaks | undefined;
  private readonly actorIndex = new Map<string, number>();
  /** With `coverage`: the transitions taken, each once, in the order first taken. */
  private readonly covered: { readonly log: string[]; readonly seen: Set<string> } | undefined;

  constructor(
    readonly instance: ScenarioInstance,
    private readonly options: ExecutionOptions = {},
  ) {
    const cp = options.from;
    this.memory = new GuestMemory(instance.image, cp?.memory);
    try {
      this.locks = cp ? cp.locks.clone() : new LockTable(instance.locks);
    } catch (e) {
      throw new ModelError('invalid', `scenario '${instance.scenario.name}': ${(e as Error).message}`);
    }
    const names = instance.actors.map((a) => a.name);
    this.mailboxes = cp ? cp.mailboxes.clone() : new Mailboxes(names);
    const cov = options.coverage ? cp?.checkers.coverage : undefined;
    const log = cov ? cov.log.slice(0, cov.length) : [];
    this.covered = options.coverage ? { log, seen: new Set(log) } : undefined;
    const taken = this.covered
      ? (id: string) => {
          const c = this.covered!;
          if (c.seen.has(id)) return;
          c.seen.add(id);
          c.log.push(id);
        }
      : undefined;
    this.hosts = instance.actors.map(
      (a, i) =>
        new ActorHost(a.name, a.machine, a.input, {
          from: cp?.actors[i].snapshot,
          onTransition: taken,
          hosting: options.hosting,
        }),
    );
    for (const h of this.hosts) this.byName.set(h.name, h);
    for (let i = 0; i < names.length; i++) this.actorIndex.set(names[i], i);
    const on = instance.checkers;
    this.race = on.race
      ? new RaceDetector(names, this.locks.names(), instance.seqlocks, cp?.checkers.race)
      : undefined;
    this.lockOrder = on['lock-order'] ? new LockOrder(cp?.checkers.lockOrder, options.lockOrders) : undefined;
    this.hot = on.liveness
      ? (cp?.checkers.hot?.clone() ?? new HotStreaks(names.length, instance.hotSteps))
      : undefined;
    if (cp) {
      cp.actors.forEach((a, i) => {
        const h = this.hosts[i];
        h.actor.start();
        h.refreshState();
        h.queue.push(...a.queue.map(copyPending));
        h.results = { ...a.results };
        h.steps = a.steps;
      });
      this.clock = cp.clock;
      this.hasher.restore(cp.hash);
      this.stepCount = cp.step;
      this.stepHashes.push(...cp.stepHashes.slice(0, cp.stepHashCount));
      this.stateHashes.push(...cp.stateHashes.slice(0, cp.stateHashCount));
    }
    this.tracker = options.trackReads ? new ReadTracker() : undefined;
    if (cp && options.hashStates) this.startHashing();
    this.view = makeWorldView(
      names,
      this.byName,
      this.memory,
      this.locks,
      () => this.lastStep,
      () => this.stepCount,
      this.tracker,
    );
  }

  /** Starts every actor (their initial entry actions may queue operations). */
  start(): void {
    for (const h of this.hosts) {
      h.actor.start();
      this.afterTransition(h, 'start', 'xstate.init');
    }
    this.stepHashes.push(this.hasher.low);
    if (this.options.hashStates) this.startHashing();
    if (this.options.fingerprint) {
      const fp = new TraceHasher();
      for (const h of this.hosts) fp.value(h.actor.getSnapshot().context);
      this.contextHashes.push(fp.digest());
    }
    this.checkInvariants();
    // The initial check is the same in every execution: it orders nothing.
    if (this.tracker) this.tracker.reads = [];
  }

  get traceHash(): string {
    return this.hasher.digest();
  }

  private startHashing(): void {
    this.states = new StateHasher(this.hosts);
    const h = this.hosts[0];
    if (h) this.states.update(h, this.mailboxes, this.locks);
  }

  /** The state now, to resume from later (see Checkpoint). Only between steps, with no bug. */
  checkpoint(): Checkpoint {
    return {
      step: this.stepCount,
      actors: this.hosts.map((h) => ({
        snapshot: h.actor.getSnapshot() as AnyMachineSnapshot,
        queue: h.queue.map(copyPending),
        results: { ...h.results },
        steps: h.steps,
      })),
      mailboxes: this.mailboxes.clone(),
      memory: { log: this.memory.log, length: this.memory.log.length },
      locks: this.locks.clone(),
      clock: this.clock,
      hash: this.hasher.save(),
      // Append-only: a checkpoint keeps the arrays and the lengths it saw.
      stepHashes: this.stepHashes,
      stepHashCount: this.stepHashes.length,
      stateHashes: this.stateHashes,
      stateHashCount: this.stateHashes.length,
      checkers: {
        race: this.race?.checkpoint(),
        lockOrder: this.lockOrder?.checkpoint(),
        hot: this.hot?.clone(),
        ...(this.covered ? { coverage: { log: this.covered.log, length: this.covered.log.length } } : {}),
      },
    };
  }

  /** The moves the scheduler may take now, in a deterministic order. */
  enabled(): Move[] {
    const moves: Move[] = [];
    for (const h of this.hosts) {
      const head = h.queue[0];
      if (head) {
        const o = head.op;
        if (o.op === 'acquire' && !this.locks.canGrant(o.lock, o.mode)) continue;
        if (o.op === 'choose') {
          for (let i = 0; i < o.options.length; i++) moves.push({ actor: h.name, kind: 'op', choice: i });
        } else moves.push({ actor: h.name, kind: 'op' });
      } else if (!h.done) {
        for (const from of this.mailboxes.sendersWaiting(h.name))
          moves.push({ actor: h.name, kind: 'deliver', from });
      }
    }
    return moves;
  }

  /**
   * The acquisitions actors wait on (disabled because the lock is held), as the footprints
   * they would have. DPOR orders them after the holder's acquisition even when they never
   * happen, as in a deadlock.
   */
  /** With `coverage`: the transitions this execution took, each once. */
  coveredTransitions(): readonly string[] {
    return this.covered?.log ?? [];
  }

  /** The lock orders this execution recorded, each once (none with the lock-order checker off). */
  lockEdges(): LockEdge[] {
    return this.lockOrder?.recorded() ?? [];
  }

  waiting(): Footprint[] {
    const out: Footprint[] = [];
    for (const h of this.hosts) {
      const o = h.queue[0]?.op;
      if (o?.op === 'acquire' && !this.locks.canGrant(o.lock, o.mode))
        out.push({ actor: h.name, object: { type: 'lock', name: o.lock, access: o.mode } });
    }
    return out;
  }

  /** Performs one step. The move must be one of `enabled()`. */
  apply(move: Move): StepRecord {
    const h = this.byName.get(move.actor);
    if (!h) throw new Error(`no actor '${move.actor}'`);
    this.stepCount++;
    h.steps++;
    const stateBefore = h.state;
    if (h.steps > this.instance.actorSteps) {
      throw new ModelError(
        'step-bound',
        `actor '${h.name}' ran past the step bound of ${this.instance.actorSteps} steps (in state '${h.state}', at step ${this.stepCount}); raise bounds.actorSteps if the run is meant to be this long`,
        { actor: h.name, step: this.stepCount, state: h.state },
      );
    }
    let what: string;
    let footprint: Footprint;
    let access: MemoryAccess | undefined;
    let transitioned = false;
    if (move.kind === 'deliver') {
      const from = move.from!;
      const ev = this.mailboxes.take(from, h.name);
      if (!ev) throw new Error(`no message from '${from}' for '${h.name}'`);
      what = `deliver ${ev.type} from ${from}`;
      this.race?.deliver(this.actorIndex.get(from)!, this.actorIndex.get(h.name)!, this.stepCount);
      footprint = {
        actor: h.name,
        object: { type: 'mailbox', owner: h.name, op: 'deliver' },
      };
      this.transition(h, ev);
      transitioned = true;
    } else {
      const p = h.queue[0];
      if (!p) throw new Error(`actor '${h.name}' has no operation queued`);
      const r = this.perform(h, p, move);
      what = r.what;
      footprint = r.footprint;
      access = r.access;
      if (r.complete) {
        h.queue.shift();
        if (h.queue.length === 0) {
          const results = h.results;
          h.results = {};
          // An actor that reached a final state has stopped: its last operations ran, nobody hears of it.
          if (!h.done) {
            this.transition(h, { type: DONE_EVENT, results } as EventObject);
            transitioned = true;
          }
        }
      }
    }
    const hs = this.hasher;
    const key = moveKey(move);
    hs.str('|').str(key).str(' ').str(what).str('>').str(h.state);
    if (access?.bytes) hs.value(access.bytes);
    this.stepHashes.push(hs.low);
    if (this.options.fingerprint) {
      this.contextHashes.push(
        transitioned ? new TraceHasher().value(h.actor.getSnapshot().context).digest() : '',
      );
    }
    if (transitioned) footprint = { ...footprint, transition: true };
    let record: StepRecord = {
      index: this.stepCount,
      move: key,
      actor: h.name,
      kind: move.kind,
      what,
      stateBefore,
      stateAfter: h.state,
      footprint,
      access,
      hash: this.options.record ? hs.digest() : '',
    };
    this.lastStep = record;
    if (!this.bug && this.hot) this.bug = this.hot.afterStep(this.actorIndex.get(h.name)!, h, this.stepCount);
    if (!this.bug) this.checkInvariants();
    const t = this.tracker;
    if (t && t.reads.length > 0) {
      const observed = footprint.observed ? [...footprint.observed, ...t.reads] : t.reads;
      record = { ...record, footprint: { ...footprint, observed } };
      t.reads = [];
      this.lastStep = record;
    }
    if (this.options.record) this.records.push(record);
    if (this.states) {
      const o = footprint.object?.type;
      // A delivery changes the receiver's mailbox; a send another's, so both rehash the mailboxes.
      this.states.update(
        h,
        o === 'mailbox' ? this.mailboxes : undefined,
        o === 'lock' ? this.locks : undefined,
      );
      this.stateHashes.push(this.states.hash(this.clock, this.memory.contentHash));
    }
    return record;
  }

  /** When no move is enabled: the deadlock or liveness bug the final state shows, if any. */
  finish(): Bug | undefined {
    if (!this.bug) this.bug = terminationBug(this.hosts, this.locks, this.stepCount, this.instance.checkers);
    return this.bug;
  }

  private transition(h: ActorHost, ev: EventObject): void {
    this.options.transitions?.push({ actor: h.name, event: ev });
    h.actor.send(ev);
    this.afterTransition(h, ev.type === DONE_EVENT ? 'completion' : `'${ev.type}'`, ev.type);
  }

  private afterTransition(h: ActorHost, what: string, eventType: string): void {
    const before = h.state;
    if (h.error !== undefined) {
      const msg = h.error instanceof Error ? h.error.message : String(h.error);
      throw new ModelError(
        'machine-error',
        `actor '${h.name}' threw in state '${before || '(initial)'}' handling ${what} at step ${this.stepCount}: ${msg}`,
        { actor: h.name, step: this.stepCount, state: before },
      );
    }
    h.refreshState();
    const emitted = h.emitted.splice(0);
    for (const ev of emitted) h.queue.push(this.toPending(h, ev, eventType));
  }

  private fail(h: ActorHost, kind: ConstructorParameters<typeof ModelError>[0], msg: string): never {
    throw new ModelError(
      kind,
      `actor '${h.name}' ${msg} (in state '${h.state}', at step ${this.stepCount})`,
      {
        actor: h.name,
        step: this.stepCount,
        state: h.state,
      },
    );
  }

  /** Validates an emitted event as an operation and queues it, split into atomic units. */
  private toPending(h: ActorHost, ev: EventObject, eventType: string): Pending {
    const o = validateOperation(ev, eventType, {
      memory: this.memory,
      locks: this.locks,
      actors: this.byName,
      fail: (kind, msg) => this.fail(h, kind, msg),
    });
    if (o.op === 'read') return { op: o, units: atomicUnits(o.addr, o.width), next: 0, acc: [] };
    if (o.op === 'write') return { op: o, units: atomicUnits(o.addr, o.bytes.length), next: 0, acc: [] };
    return { op: o, next: 0, acc: [] };
  }

  private perform(
    h: ActorHost,
    p: Pending,
    move: Move,
  ): { what: string; footprint: Footprint; access?: MemoryAccess; complete: boolean } {
    const o = p.op;
    const actor = h.name;
    try {
      switch (o.op) {
        case 'send':
          this.mailboxes.put(actor, o.to, o.event);
          this.race?.send(this.actorIndex.get(actor)!, this.actorIndex.get(o.to)!, this.stepCount);
          return {
            what: `send ${o.event.type} → ${o.to}`,
            footprint: {
              actor,
              object: { type: 'mailbox', owner: o.to, op: 'send' },
            },
            complete: true,
          };
        case 'read':
        case 'write': {
          const units = p.units!;
          const u = units[p.next++];
          const part = units.length > 1 ? ` [${p.next}/${units.length}]` : '';
          const isWrite = o.op === 'write';
          const before = isWrite ? this.memory.peek(u.addr, u.width) : undefined;
          const r = isWrite
            ? this.memory.writeUnit(u.addr, o.bytes.slice(u.offset, u.offset + u.width))
            : this.memory.readUnit(u.addr, u.width);
          const footprint: Footprint = {
            actor,
            object: { type: 'memory', addr: u.addr, width: u.width, write: isWrite },
          };
          const what = `${o.op} ${hex(u.addr)}/${u.width}${o.tag ? ` (${o.tag})` : ''}${part}`;
          if (!r.ok) {
            if (o.tag) h.results[o.tag] = r;
            // A fault touches no byte: it depends only on the page type, which never changes.
            return {
              what: `${what} → fault ${r.fault}`,
              footprint: { actor },
              access: { kind: o.op, addr: u.addr, width: u.width, fault: r.fault },
              complete: true,
            };
          }
          p.acc.push(...r.bytes);
          const complete = p.next === units.length;
          if (complete && o.tag) h.results[o.tag] = { ok: true, bytes: isWrite ? o.bytes : p.acc };
          const observed = this.race && isWrite ? this.flagsObserved(u.addr, u.width) : undefined;
          if (this.race) {
            const race = this.race.access(
              this.actorIndex.get(actor)!,
              o.op,
              u.addr,
              u.width,
              o.sync ?? 'plain',
              units.length > 1,
              observed !== undefined && this.uncovered(u.addr, u.width, before!),
              this.stepCount,
              o.tag,
            );
            if (race && !this.bug) this.bug = race;
          }
          return {
            what,
            footprint: observed ? { ...footprint, observed } : footprint,
            access: { kind: o.op, addr: u.addr, width: u.width, bytes: r.bytes, before },
            complete,
          };
        }
        case 'cmpxchg': {
          const width = o.desired.length;
          const footprint: Footprint = {
            actor,
            object: { type: 'memory', addr: o.addr, width, write: true },
          };
          const fault = this.memory.fault(o.addr, 'write');
          const what = `cmpxchg ${hex(o.addr)}/${width} (${o.tag})`;
          if (fault) {
            h.results[o.tag] = { ok: false, fault, addr: o.addr };
            return {
              what: `${what} → fault ${fault}`,
              footprint: { actor },
              access: { kind: 'cmpxchg', addr: o.addr, width, fault },
              complete: true,
            };
          }
          const old = this.memory.peek(o.addr, width);
          const ok = old.every((b, i) => b === o.expected[i]);
          if (ok) this.memory.poke(o.addr, o.desired);
          h.results[o.tag] = { ok, old };
          const observed = this.race ? this.flagsObserved(o.addr, width) : undefined;
          if (this.race) {
            const race = this.race.access(
              this.actorIndex.get(actor)!,
              'cmpxchg',
              o.addr,
              width,
              'atomic',
              false,
              observed !== undefined && this.uncovered(o.addr, width, old),
              this.stepCount,
              o.tag,
            );
            if (race && !this.bug) this.bug = race;
          }
          return {
            what: `${what} → ${ok ? 'swapped' : 'failed'}`,
            footprint: observed ? { ...footprint, observed } : footprint,
            access: { kind: 'cmpxchg', addr: o.addr, width, bytes: ok ? o.desired : old, before: old },
            complete: true,
          };
        }
        case 'acquire': {
          const held = this.lockOrder ? this.locks.heldBy(actor) : undefined;
          this.locks.grant(o.lock, o.mode, actor, this.stepCount);
          this.race?.acquire(this.actorIndex.get(actor)!, o.lock, o.mode, this.stepCount);
          if (held && !this.bug)
            this.bug = this.lockOrder!.acquired(actor, o.lock, o.mode, this.stepCount, held);
          return {
            what: `acquire ${o.lock} (${o.mode}) → granted`,
            // Shared holds commute with each other; only exclusive use conflicts.
            footprint: { actor, object: { type: 'lock', name: o.lock, access: o.mode } },
            complete: true,
          };
        }
        case 'tryAcquire': {
          const ok = this.locks.canGrant(o.lock, o.mode);
          if (ok) {
            this.locks.grant(o.lock, o.mode, actor, this.stepCount);
            this.race?.acquire(this.actorIndex.get(actor)!, o.lock, o.mode, this.stepCount);
          }
          h.results[o.tag] = ok;
          return {
            what: `tryAcquire ${o.lock} (${o.mode}) → ${ok ? 'taken' : 'busy'}`,
            footprint: { actor, object: { type: 'lock', name: o.lock, access: `try-${o.mode}` } },
            complete: true,
          };
        }
        case 'release': {
          const exclusive = this.locks.holders(o.lock)[0] === actor && this.locks.isExclusive(o.lock);
          if (!this.locks.release(o.lock, actor))
            this.fail(h, 'bad-operation', `releases lock '${o.lock}', which it does not hold`);
          this.race?.release(this.actorIndex.get(actor)!, o.lock, exclusive, this.stepCount);
          return {
            what: `release ${o.lock}`,
            footprint: {
              actor,
              object: {
                type: 'lock',
                name: o.lock,
                access: exclusive ? 'release-exclusive' : 'release-shared',
              },
            },
            complete: true,
          };
        }
        case 'choose': {
          const i = move.choice ?? 0;
          h.results[o.tag] = o.options[i];
          return {
            what: `choose ${o.tag} = ${JSON.stringify(o.options[i])}`,
            footprint: { actor },
            complete: true,
          };
        }
        case 'now':
          h.results[o.tag] = ++this.clock;
          return {
            what: `now (${o.tag}) = ${this.clock}`,
            footprint: { actor, object: { type: 'clock' } },
            complete: true,
          };
        case 'assert':
          if (!o.ok && !this.bug) {
            this.bug = {
              kind: 'assertion',
              message: `assertion failed in ${actor} (state '${h.state}'): ${o.message}`,
              step: this.stepCount,
              actor,
            };
          }
          return {
            what: `assert ${JSON.stringify(o.message)} → ${o.ok ? 'ok' : 'FAILED'}`,
            footprint: { actor },
            complete: true,
          };
      }
    } catch (e) {
      if (e instanceof OutOfBoundsError) this.fail(h, 'out-of-bounds', `accesses ${e.message}`);
      throw e;
    }
  }

  /**
   * A write into a seqlock's data reads the flag to decide whether the flag covered it
   * (race-detector.ts): that read is part of the step's footprint, so partial-order
   * reduction orders it against writes of the flag.
   */
  private flagsObserved(addr: number, width: number): FootprintObject[] | undefined {
    const qs = this.race?.seqlocksWritten(addr, width);
    return qs?.map((q) => ({ type: 'memory', addr: q.flag.addr, width: 1, write: false }));
  }

  /** Was a write unit into seqlock data made with some seqlock's flag clear before and after it? */
  private uncovered(addr: number, width: number, before: readonly number[]): boolean {
    for (const q of this.race?.seqlocksWritten(addr, width) ?? []) {
      const f = q.flag.addr;
      const after = this.memory.peek(f, 1)[0];
      const was = f >= addr && f < addr + width ? before[f - addr] : after;
      if (((was | after) & q.flag.mask) === 0) return true;
    }
    return false;
  }

  private checkInvariants(): void {
    this.bug = brokenInvariant(this.instance, this.view, this.stepCount, this.tracker);
  }
}
