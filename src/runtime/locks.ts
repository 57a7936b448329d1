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
}

export class LockTable {
  private readonly locks = new Map<string, LockState>();

  constructor(decl: Readonly<Record<string, LockKind>>) {
    for (const [name, kind] of Object.entries(decl)) {
      if (kind !== 'spinlock' && kind !== 'rwlock') throw new Error(`lock '${name}': unknown kind '${kind}'`);
      this.locks.set(name, { kind, writer: undefined, readers: [] });
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

  grant(name: string, mode: LockMode, actor: string): void {
    const l = this.get(name);
    if (mode === 'exclusive') l.writer = actor;
    else l.readers.push(actor);
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
    for (const [name, l] of this.locks) t.locks.set(name, { ...l, readers: [...l.readers] });
    return t;
  }

  names(): string[] {
    return [...this.locks.keys()];
  }
}
