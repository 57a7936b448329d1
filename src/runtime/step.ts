import type { Bytes, MemoryFault } from '../model/operation.ts';

/**
 * A move is one thing the scheduler may do next: run an actor's next queued operation
 * (`op`, with `choice` for a `choose`), or deliver the head message of the channel
 * from `from` to `actor` (`deliver`). Moves are named by actor and channel identity, never
 * by position in the enabled list, so a recorded schedule survives reordering.
 */
export interface Move {
  readonly actor: string;
  readonly kind: 'op' | 'deliver';
  readonly from?: string;
  readonly choice?: number;
}

/** `vcpu0`, `vcpu0#2` (choice 2), `dm<vcpu0` (deliver to dm from vcpu0). */
export function moveKey(m: Move): string {
  if (m.kind === 'deliver') return `${m.actor}<${m.from}`;
  return m.choice === undefined ? m.actor : `${m.actor}#${m.choice}`;
}

export function parseMoveKey(key: string): Move | undefined {
  let m = /^([^<#\s]+)<([^<#\s]+)$/.exec(key);
  if (m) return { actor: m[1], kind: 'deliver', from: m[2] };
  m = /^([^<#\s]+)(?:#(\d+))?$/.exec(key);
  if (!m) return undefined;
  return m[2] === undefined ? { actor: m[1], kind: 'op' } : { actor: m[1], kind: 'op', choice: Number(m[2]) };
}

/**
 * What a step touches besides its own actor (DESIGN §1, "Steps and footprints"). Two steps
 * are dependent when they share the actor, or touch the same object in ways that do not
 * commute:
 * - memory: overlapping bytes, at least one write;
 * - mailbox: a delivery from an actor's mailbox against a send into it (sends from
 *   different senders go to different FIFO channels and commute);
 * - lock: two acquisitions (or tryAcquires), at least one exclusive; a release against the
 *   acquisitions it can let through (an exclusive holder's release against all of them, a
 *   shared holder's against exclusive ones) and against observations;
 * - clock: every `now` is ordered;
 * - actor: a step that changes an actor's snapshot writes it; an invariant that looks at
 *   the snapshot reads it.
 */
export type FootprintObject =
  | { readonly type: 'memory'; readonly addr: number; readonly width: number; readonly write: boolean }
  | { readonly type: 'mailbox'; readonly owner: string; readonly op: 'send' | 'deliver' }
  | { readonly type: 'lock'; readonly name: string; readonly access: LockAccess }
  | { readonly type: 'clock' }
  | { readonly type: 'actor'; readonly name: string; readonly write: boolean };

/** `try-*`: a tryAcquire; `observe`: an invariant reading the holders. */
export type LockAccess =
  | 'shared'
  | 'exclusive'
  | 'try-shared'
  | 'try-exclusive'
  | 'release-shared'
  | 'release-exclusive'
  | 'observe';

export interface Footprint {
  readonly actor: string;
  readonly object?: FootprintObject;
  /**
   * What the invariants read when they were checked after this step, when reads are
   * tracked (DPOR). The check is part of the step: a step is ordered against every step
   * that changes what its check looked at, so each check sees the same values in every
   * equivalent interleaving.
   */
  readonly observed?: readonly FootprintObject[];
  /** The step changed its actor's snapshot (a delivery, or the completion of its operations). */
  readonly transition?: boolean;
}

export function dependent(a: Footprint, b: Footprint): boolean {
  if (a.actor === b.actor) return true;
  if (a.object && b.object && conflict(a.object, b.object)) return true;
  return crossObserved(a, b) || crossObserved(b, a);
}

/** Does what `a`'s invariants read conflict with what `b` did? */
function crossObserved(a: Footprint, b: Footprint): boolean {
  if (!a.observed) return false;
  for (const o of a.observed) {
    if (o.type === 'actor') {
      if (b.transition && o.name === b.actor) return true;
    } else if (b.object && conflict(o, b.object)) return true;
  }
  return false;
}

function conflict(x: FootprintObject, y: FootprintObject): boolean {
  switch (x.type) {
    case 'memory': {
      if (y.type !== 'memory' || (!x.write && !y.write)) return false;
      return x.addr < y.addr + y.width && y.addr < x.addr + x.width;
    }
    case 'mailbox':
      return y.type === 'mailbox' && x.owner === y.owner && (x.op === 'deliver' || y.op === 'deliver');
    case 'lock':
      return y.type === 'lock' && x.name === y.name && lockConflict(x.access, y.access);
    case 'clock':
      return y.type === 'clock';
    case 'actor':
      return y.type === 'actor' && x.name === y.name && (x.write || y.write);
  }
}

function lockConflict(a: LockAccess, b: LockAccess): boolean {
  if (a === 'observe' || b === 'observe') return a !== b;
  const ra = a.startsWith('release');
  const rb = b.startsWith('release');
  if (ra && rb) return false;
  // Any two of: an acquisition (try or not), a release; at least one exclusive.
  return a.endsWith('exclusive') || b.endsWith('exclusive');
}

export interface MemoryAccess {
  readonly kind: 'read' | 'write' | 'cmpxchg';
  readonly addr: number;
  readonly width: number;
  /** Bytes read, or written. */
  readonly bytes?: Bytes;
  /** For a write: the bytes it replaced. */
  readonly before?: Bytes;
  readonly fault?: MemoryFault;
}

export interface StepRecord {
  /** 1-based position in the execution. */
  readonly index: number;
  readonly move: string;
  readonly actor: string;
  readonly kind: Move['kind'];
  /** What the step did, e.g. `read 0x2000/8 (data)` or `deliver evtchn from vcpu0`. */
  readonly what: string;
  readonly stateBefore: string;
  readonly stateAfter: string;
  readonly footprint: Footprint;
  readonly access?: MemoryAccess;
  /** The rolling trace hash after this step (when recording). */
  readonly hash: string;
}

export type BugKind = 'invariant' | 'assertion' | 'deadlock' | 'liveness' | 'race' | 'lock-order';

export interface Bug {
  readonly kind: BugKind;
  readonly message: string;
  /** The step at which the bug became visible (0: before any step). */
  readonly step: number;
  readonly actor?: string;
  readonly invariant?: string;
  /** The culprit steps (1-based, as StepRecord.index): the racing accesses, the lock acquisitions. */
  readonly steps?: readonly number[];
  /**
   * What makes the bug the same bug in another interleaving, without step numbers or the
   * order the checker met its parts in (for shrinking: src/explore/shrink.ts sameBug).
   */
  readonly key?: string;
}
