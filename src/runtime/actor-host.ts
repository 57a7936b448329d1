import {
  type Actor,
  type AnyMachineSnapshot,
  type AnyStateMachine,
  createActor,
  type EventObject,
  type InspectionEvent,
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

/** One actor of an execution: its xstate actor, queue of operations and step count. */
export class ActorHost {
  readonly actor: Actor<AnyStateMachine>;
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
    /** Resume from this snapshot (a checkpoint's) instead of the initial state. */
    from?: AnyMachineSnapshot,
    /** Told the name of every transition the machine takes (coverage). */
    onTransition?: (id: string) => void,
  ) {
    const snapshot = from ? machine.getPersistedSnapshot(from) : undefined;
    const ids = onTransition ? transitionIds(machine) : undefined;
    this.actor = createActor(machine, {
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
    this.actor.on('*', (ev) => {
      this.emitted.push(ev);
    });
    this.actor.subscribe({
      error: (e) => {
        this.error = e;
      },
    });
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
