import type { StateValue } from 'xstate';
import type { GuestMemory, PageType } from '../memory/guest-memory.ts';
import type { ActorHost } from './actor-host.ts';
import type { LockTable } from './locks.ts';
import type { FootprintObject, StepRecord } from './step.ts';

/** Collects what invariants read, while `on` (see Footprint.observed). */
export class ReadTracker {
  on = false;
  reads: FootprintObject[] = [];
  add(o: FootprintObject): void {
    if (this.on) this.reads.push(o);
  }
}

/** What invariants see after each step: every actor's state, memory, locks, the last step. */
export interface ActorView {
  readonly state: string;
  readonly value: StateValue;
  readonly context: unknown;
  hasTag(tag: string): boolean;
  readonly done: boolean;
}

export interface WorldView {
  readonly actorNames: readonly string[];
  actor(name: string): ActorView;
  /** The actor's context, typed by the caller. */
  context<T>(name: string): T;
  peek(addr: number, width: number): number[];
  pageType(addr: number): PageType;
  lockHolders(name: string): readonly string[];
  /** The step just taken (undefined before the first). */
  readonly lastStep: StepRecord | undefined;
  readonly stepCount: number;
}

/** The view of one execution; it reads the live state, so it is made once per execution. */
export function makeWorldView(
  names: readonly string[],
  hosts: ReadonlyMap<string, ActorHost>,
  memory: GuestMemory,
  locks: LockTable,
  lastStep: () => StepRecord | undefined,
  stepCount: () => number,
  tracker?: ReadTracker,
): WorldView {
  const host = (name: string) => {
    const h = hosts.get(name);
    if (!h) throw new Error(`invariant asks for unknown actor '${name}'`);
    return h;
  };
  return {
    actorNames: names,
    actor(name) {
      const h = host(name);
      tracker?.add({ type: 'actor', name, write: false });
      const snap = h.actor.getSnapshot();
      return {
        state: h.state,
        value: snap.value,
        context: snap.context,
        hasTag: (t: string) => snap.hasTag(t),
        done: snap.status === 'done',
      };
    },
    context<T>(name: string): T {
      tracker?.add({ type: 'actor', name, write: false });
      return host(name).actor.getSnapshot().context as T;
    },
    peek: (addr, width) => {
      tracker?.add({ type: 'memory', addr, width, write: false });
      return memory.peek(addr, width);
    },
    // Page types never change: reading one orders nothing.
    pageType: (addr) => memory.pageType(addr),
    lockHolders: (name) => {
      tracker?.add({ type: 'lock', name, access: 'observe' });
      return locks.holders(name);
    },
    get lastStep() {
      return lastStep();
    },
    get stepCount() {
      return stepCount();
    },
  };
}
