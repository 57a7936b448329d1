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
 * The object a step touches besides its own actor (DESIGN §1, "Steps and footprints").
 * Two steps are dependent when they share the actor, or touch the same object and at
 * least one of them writes it.
 */
export type FootprintObject =
  | { readonly type: 'memory'; readonly addr: number; readonly width: number; readonly write: boolean }
  | { readonly type: 'channel'; readonly id: string; readonly write: boolean }
  | { readonly type: 'lock'; readonly name: string; readonly write: boolean }
  | { readonly type: 'clock'; readonly write: true };

export interface Footprint {
  readonly actor: string;
  readonly object?: FootprintObject;
}

export function dependent(a: Footprint, b: Footprint): boolean {
  if (a.actor === b.actor) return true;
  const x = a.object;
  const y = b.object;
  if (!x || !y || x.type !== y.type || (!x.write && !y.write)) return false;
  switch (x.type) {
    case 'memory': {
      const ym = y as typeof x;
      return x.addr < ym.addr + ym.width && ym.addr < x.addr + x.width;
    }
    case 'channel':
      return x.id === (y as typeof x).id;
    case 'lock':
      return x.name === (y as typeof x).name;
    case 'clock':
      return true;
  }
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

export type BugKind = 'invariant' | 'assertion' | 'deadlock' | 'liveness';

export interface Bug {
  readonly kind: BugKind;
  readonly message: string;
  /** The step at which the bug became visible (0: before any step). */
  readonly step: number;
  readonly actor?: string;
  readonly invariant?: string;
}
