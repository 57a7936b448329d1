import type { StateValue } from 'xstate';
import type { PageType } from '../memory/guest-memory.ts';
import type { StepRecord } from './step.ts';

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
