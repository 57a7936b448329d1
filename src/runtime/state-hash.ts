import type { ActorHost } from './actor-host.ts';
import { TraceHasher } from './hash.ts';
import type { LockTable } from './locks.ts';
import type { Mailboxes } from './mailbox.ts';

/**
 * Hashes by object identity. xstate contexts are immutable and `assign` shares every part
 * it does not change, so a new context costs only its changed parts.
 */
const objectHashes = new WeakMap<object, number>();

function contextHash(v: object): number {
  let h = objectHashes.get(v);
  if (h !== undefined) return h;
  const t = new TraceHasher();
  if (Array.isArray(v)) {
    t.str('[');
    for (const x of v) (typeof x === 'object' && x !== null ? t.num(contextHash(x)) : t.value(x)).str(',');
  } else if (v instanceof Map || v instanceof Set || ArrayBuffer.isView(v)) t.value(v);
  else {
    t.str('{');
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      t.str(k).str(':');
      (typeof x === 'object' && x !== null ? t.num(contextHash(x)) : t.value(x)).str(',');
    }
  }
  h = t.top52;
  objectHashes.set(v, h);
  return h;
}

function actorHash(a: ActorHost): number {
  const snap = a.actor.getSnapshot();
  const h = new TraceHasher().str(a.name).str(a.state).num(a.steps).str(snap.status);
  const ctx: unknown = snap.context;
  if (typeof ctx === 'object' && ctx !== null) h.num(contextHash(ctx));
  else h.value(ctx);
  // Operations are immutable: each is hashed once, by identity.
  for (const p of a.queue) h.num(contextHash(p.op)).num(p.next).value(p.acc);
  return h.value(a.results).top52;
}

/**
 * The hash of an execution's global state (DESIGN §1): every actor's state, context,
 * queued operations (with their progress), partial results and step count; the
 * mailboxes; the locks; the clock; memory (GuestMemory.contentHash). Equal states give
 * equal hashes, so `states` counts the distinct states visited. Kept per part and
 * updated only where a step changed something; a number of 52 bits, so a Set of them
 * stays small.
 */
export class StateHasher {
  private readonly actors: number[];
  private mailboxes = 0;
  private locks = 0;

  constructor(private readonly hosts: readonly ActorHost[]) {
    this.actors = hosts.map(actorHash);
  }

  /** After a step of `actor` that may have touched the mailboxes and the locks. */
  update(actor: ActorHost, mailboxes?: Mailboxes, locks?: LockTable): void {
    this.actors[this.hosts.indexOf(actor)] = actorHash(actor);
    if (mailboxes) {
      const h = new TraceHasher();
      for (const [id, q] of mailboxes.contents()) h.str(id).value(q);
      this.mailboxes = h.top52;
    }
    if (locks) {
      const h = new TraceHasher();
      for (const name of locks.names()) h.str(name).value(locks.holders(name));
      this.locks = h.top52;
    }
  }

  hash(clock: number, memoryHash: number): number {
    const h = new TraceHasher();
    for (const a of this.actors) h.num(a);
    return h
      .num(this.mailboxes)
      .num(this.locks)
      .num(clock)
      .num(memoryHash >>> 0).top52;
  }
}
