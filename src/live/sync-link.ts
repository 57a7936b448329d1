import { type MessagePort, receiveMessageOnPort } from 'node:worker_threads';

/** Why a call over a link failed: the other side did not answer in time, or is gone. */
export class LinkTimeout extends Error {}

/**
 * A synchronous request/reply channel to a worker thread: the request goes as a message,
 * the caller blocks on `Atomics.wait` until the worker bumps the shared counter after
 * posting its reply, then takes the reply with `receiveMessageOnPort`. The runtime calls
 * an actor synchronously (send an event, read its snapshot), so a machine on another
 * thread must answer the same way.
 */
export class SyncLink {
  private readonly signal: Int32Array;

  constructor(
    private readonly port: MessagePort,
    /** Two Int32 slots: [0] bumped by the worker after each reply. */
    readonly buffer: SharedArrayBuffer,
  ) {
    this.signal = new Int32Array(buffer);
  }

  static buffer(): SharedArrayBuffer {
    return new SharedArrayBuffer(8);
  }

  /** Sends `request` and waits at most `timeoutMs` for the reply. */
  call<T>(request: unknown, timeoutMs: number): T {
    return this.post(request).wait<T>(timeoutMs);
  }

  /** Sends `request`; `wait` then takes the reply (several links can be posted to first). */
  post(request: unknown): { wait<T>(timeoutMs: number): T } {
    const seen = Atomics.load(this.signal, 0);
    this.port.postMessage(request);
    return { wait: <T>(timeoutMs: number) => this.waitAfter<T>(seen, timeoutMs) };
  }

  private waitAfter<T>(seen: number, timeoutMs: number): T {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const left = deadline - performance.now();
      if (left <= 0) throw new LinkTimeout(`no reply within ${timeoutMs} ms`);
      if (Atomics.wait(this.signal, 0, seen, left) !== 'timed-out' || Atomics.load(this.signal, 0) !== seen) {
        const m = receiveMessageOnPort(this.port);
        if (m) return m.message as T;
      }
    }
  }
}

/** The worker's side: post the reply, then wake the caller. */
export function answer(port: MessagePort, buffer: SharedArrayBuffer, reply: unknown): void {
  const signal = new Int32Array(buffer);
  port.postMessage(reply);
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
}
