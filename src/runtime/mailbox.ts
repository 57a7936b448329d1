import type { EventObject } from 'xstate';

/**
 * Mailboxes: one FIFO channel per (sender, receiver) pair. Messages from one sender
 * arrive in order; messages from different senders may be delivered in either order,
 * and delivering each is its own scheduler step.
 */
export class Mailboxes {
  private readonly channels = new Map<string, EventObject[]>();

  constructor(private readonly actorOrder: readonly string[]) {}

  static channelId(from: string, to: string): string {
    return `${from}->${to}`;
  }

  put(from: string, to: string, event: EventObject): void {
    const id = Mailboxes.channelId(from, to);
    let q = this.channels.get(id);
    if (!q) this.channels.set(id, (q = []));
    q.push(event);
  }

  /** Senders with a message waiting for `to`, in actor declaration order. */
  sendersWaiting(to: string): string[] {
    const out: string[] = [];
    for (const from of this.actorOrder) {
      const q = this.channels.get(Mailboxes.channelId(from, to));
      if (q && q.length > 0) out.push(from);
    }
    return out;
  }

  take(from: string, to: string): EventObject | undefined {
    return this.channels.get(Mailboxes.channelId(from, to))?.shift();
  }

  clone(): Mailboxes {
    const m = new Mailboxes(this.actorOrder);
    for (const [id, q] of this.channels) if (q.length) m.channels.set(id, [...q]);
    return m;
  }

  /** The messages waiting, channel by channel, for hashing the global state. */
  contents(): [string, readonly EventObject[]][] {
    return [...this.channels]
      .filter(([, q]) => q.length > 0)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  pending(to: string): number {
    let n = 0;
    for (const from of this.actorOrder) n += this.channels.get(Mailboxes.channelId(from, to))?.length ?? 0;
    return n;
  }
}
