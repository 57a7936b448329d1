import {
  type Actor,
  type AnyMachineSnapshot,
  type AnyStateMachine,
  createActor,
  type EventObject,
  type InspectionEvent,
  type StateValue,
} from 'xstate';
import type { Unit } from '../memory/atomic-units.ts';
import type { Operation } from '../model/operation.ts';
import { stateName } from './state-name.ts';
import { transitionIds } from './transition-ids.ts';

/** An operation in an actor's queue; reads and writes advance one atomic unit per step. */
export interface Pending {
  readonly op: Operation;
  readonly units?: readonly Unit[];
  next: number;
  readonly acc: number[];
}

/** The snapshot of an actor, as much of it as the runtime reads. */
export interface HostedSnapshot {
  readonly value: StateValue;
  readonly context: unknown;
  readonly status: string;
  hasTag(tag: string): boolean;
}

/** What the runtime needs of an actor: an xstate actor in this thread, or one on a worker (src/live/). */
export interface HostedActor {
  start(): void;
  send(event: EventObject): void;
  getSnapshot(): HostedSnapshot;
}

/**
 * Hosts an actor's machine somewhere else (`live --controlled` runs each on its own
 * worker thread): what the machine emits and throws comes back through the sinks.
 */
export type ActorHosting = (
  actor: string,
  sinks: { readonly emit: (ev: EventObject) => void; readonly fail: (e: unknown) => void },
) => HostedActor;

export interface ActorHostOptions {
  /** Resume from this snapshot (a checkpoint's) instead of the initial state. */
  readonly from?: AnyMachineSnapshot;
  /** Told the name of every transition the machine takes (coverage). */
  readonly onTransition?: (id: string) => void;
  /** Run the machine there instead of in this thread. */
  readonly hosting?: ActorHosting;
}

/** One actor of an execution: its xstate actor, queue of operations and step count. */
export class ActorHost {
  readonly actor: HostedActor;
  readonly queue: Pending[] = [];
  results: Record<string, unknown> = {};
  /** Events emitted by the transition in progress. */
  readonly emitted: EventObject[] = [];
  state = '';
  steps = 0;
  error: unknown = undefined;

  constructor(
    readonly name: string,
    machine: AnyStateMachine,
    input: unknown,
    options: ActorHostOptions = {},
  ) {
    if (options.hosting) {
      this.actor = options.hosting(name, {
        emit: (ev) => this.emitted.push(ev),
        fail: (e) => {
          this.error = e;
        },
      });
      return;
    }
    const { from, onTransition } = options;
    const snapshot = from ? machine.getPersistedSnapshot(from) : undefined;
    const ids = onTransition ? transitionIds(machine) : undefined;
    const actor: Actor<AnyStateMachine> = createActor(machine, {
      input,
      id: name,
      snapshot,
      ...(ids && onTransition
        ? {
            inspect: (ev: InspectionEvent) => {
              if (ev.type !== '@xstate.microstep') return;
              for (const t of ev._transitions) {
                const id = ids.get(t);
                if (id) onTransition(id);
              }
            },
          }
        : {}),
    });
    actor.on('*', (ev) => {
      this.emitted.push(ev);
    });
    actor.subscribe({
      error: (e) => {
        this.error = e;
      },
    });
    this.actor = actor;
  }

  refreshState(): void {
    this.state = stateName(this.actor.getSnapshot().value);
  }

  get done(): boolean {
    return this.actor.getSnapshot().status === 'done';
  }

  hasTag(tag: string): boolean {
    return this.actor.getSnapshot().hasTag(tag);
  }
}
