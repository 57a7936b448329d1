import type { LockMode } from '../model/operation.ts';

/**
 * Spinlocks and rwlocks. A spinlock has one holder. An rwlock has one writer (`exclusive`)
 * or any number of readers (`shared`); readers are not held back by a waiting writer (the
 * model has no queueing fairness). Neither kind is recursive: taking a held spinlock again
 * blocks the actor for good, which the deadlock checker reports.
 */
export type LockKind = 'spinlock' | 'rwlock';

interface LockState {
  readonly kind: LockKind;
  writer: string | undefined;
  readonly readers: string[];
  /** The steps that granted the writer's hold and each reader's (for the checkers' messages). */
  writerStep: number;
  readonly readerSteps: number[];
}

/** A lock an actor holds, how, and since which step. */
export interface Hold {
  readonly lock: string;
  readonly mode: LockMode;
  readonly step: number;
}

export class LockTable {
  private readonly locks = new Map<string, LockState>();

  constructor(decl: Readonly<Record<string, LockKind>>) {
    for (const [name, kind] of Object.entries(decl)) {
      if (kind !== 'spinlock' && kind !== 'rwlock') throw new Error(`lock '${name}': unknown kind '${kind}'`);
      this.locks.set(name, { kind, writer: undefined, readers: [], writerStep: 0, readerSteps: [] });
    }
  }

  has(name: string): boolean {
    return this.locks.has(name);
  }

  kind(name: string): LockKind | undefined {
    return this.locks.get(name)?.kind;
  }

  private get(name: string): LockState {
    const l = this.locks.get(name);
    if (!l) throw new Error(`unknown lock '${name}'`);
    return l;
  }

  canGrant(name: string, mode: LockMode): boolean {
    const l = this.get(name);
    if (l.writer !== undefined) return false;
    return mode === 'shared' ? true : l.readers.length === 0;
  }

  /** Grants the lock; `step` is the step that took it (named by the deadlock and lock-order checkers). */
  grant(name: string, mode: LockMode, actor: string, step = 0): void {
    const l = this.get(name);
    if (mode === 'exclusive') {
      l.writer = actor;
      l.writerStep = step;
    } else {
      l.readers.push(actor);
      l.readerSteps.push(step);
    }
  }

  /** The locks `actor` holds, in declaration order. */
  heldBy(actor: string): Hold[] {
    const out: Hold[] = [];
    for (const [lock, l] of this.locks) {
      if (l.writer === actor) out.push({ lock, mode: 'exclusive', step: l.writerStep });
      else {
        const i = l.readers.indexOf(actor);
        if (i >= 0) out.push({ lock, mode: 'shared', step: l.readerSteps[i] });
      }
    }
    return out;
  }

  /** How `actor` holds `name`, or undefined. */
  holdOf(name: string, actor: string): Hold | undefined {
    const l = this.get(name);
    if (l.writer === actor) return { lock: name, mode: 'exclusive', step: l.writerStep };
    const i = l.readers.indexOf(actor);
    return i >= 0 ? { lock: name, mode: 'shared', step: l.readerSteps[i] } : undefined;
  }

  /** Releases the actor's hold; returns false if it held nothing. */
  release(name: string, actor: string): boolean {
    const l = this.get(name);
    if (l.writer === actor) {
      l.writer = undefined;
      return true;
    }
    const i = l.readers.indexOf(actor);
    if (i < 0) return false;
    l.readers.splice(i, 1);
    l.readerSteps.splice(i, 1);
    return true;
  }

  /** True while a writer (or a spinlock's owner) holds it. */
  isExclusive(name: string): boolean {
    return this.get(name).writer !== undefined;
  }

  holders(name: string): readonly string[] {
    const l = this.get(name);
    return l.writer !== undefined ? [l.writer] : [...l.readers];
  }

  clone(): LockTable {
    const t = new LockTable({});
    for (const [name, l] of this.locks)
      t.locks.set(name, { ...l, readers: [...l.readers], readerSteps: [...l.readerSteps] });
    return t;
  }

  /** Declared locks, in declaration order. */
  names(): string[] {
    return [...this.locks.keys()];
  }
}
