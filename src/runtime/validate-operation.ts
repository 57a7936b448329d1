import type { EventObject } from 'xstate';
import { isAtomic, PAGE_SIZE } from '../memory/atomic-units.ts';
import type { GuestMemory } from '../memory/guest-memory.ts';
import type { ModelErrorKind } from '../model/errors.ts';
import {
  type AccessSync,
  type Bytes,
  hex,
  OPERATION_EVENT,
  OPERATION_NAMES,
  type Operation,
} from '../model/operation.ts';
import type { LockTable } from './locks.ts';

export interface ValidationContext {
  readonly memory: GuestMemory;
  readonly locks: LockTable;
  readonly actors: ReadonlyMap<string, unknown>;
  /** Throws the ModelError, naming the emitting actor, its state and the step. */
  fail(kind: ModelErrorKind, message: string): never;
}

/**
 * Checks an event a machine emitted before it is queued: it must be a known operation,
 * sent to a known actor, within the declared guest memory, on a declared lock, with
 * well-formed bytes. A machine that breaks one of these is a modelling error (exit 3).
 */
export function validateOperation(ev: EventObject, eventType: string, c: ValidationContext): Operation {
  if (ev.type !== OPERATION_EVENT) {
    c.fail('unknown-operation', `emitted '${ev.type}' on '${eventType}', which is not a vcpusim operation`);
  }
  const o = ev as unknown as Operation;
  if (!OPERATION_NAMES.includes(o.op)) {
    c.fail(
      'unknown-operation',
      `emitted unknown operation '${String(o.op)}' (known: ${OPERATION_NAMES.join(', ')})`,
    );
  }
  switch (o.op) {
    case 'send':
      if (!c.actors.has(o.to)) {
        c.fail(
          'unknown-actor',
          `sends '${o.event?.type}' to unknown actor '${o.to}' (actors: ${[...c.actors.keys()].join(', ')})`,
        );
      }
      if (typeof o.event?.type !== 'string')
        c.fail('bad-operation', `sends an event with no type to '${o.to}'`);
      break;
    case 'read':
      checkRange(c, o.addr, o.width, 'reads');
      checkSync(c, o.sync, ['plain', 'atomic', 'racy'], 'read');
      break;
    case 'write':
      checkSync(c, o.sync, ['plain', 'atomic'], 'write');
      checkBytes(c, o.bytes, 'write data');
      checkRange(c, o.addr, o.bytes.length, 'writes');
      break;
    case 'cmpxchg':
      checkBytes(c, o.expected, 'cmpxchg expected bytes');
      checkBytes(c, o.desired, 'cmpxchg desired bytes');
      if (o.expected.length !== o.desired.length || !isAtomic(o.addr, o.desired.length)) {
        c.fail(
          'bad-operation',
          `cmpxchg ${hex(o.addr)} is not one naturally aligned unit of 1, 2, 4 or 8 bytes`,
        );
      }
      checkRange(c, o.addr, o.desired.length, 'cmpxchgs');
      break;
    case 'acquire':
    case 'tryAcquire':
      checkLock(c, o.lock, o.mode);
      break;
    case 'release':
      if (!c.locks.has(o.lock)) c.fail('unknown-lock', `releases undeclared lock '${o.lock}'`);
      break;
    case 'choose':
      if (!Array.isArray(o.options) || o.options.length === 0)
        c.fail('bad-operation', `chooses '${o.tag}' among no options`);
      break;
  }
  return o;
}

/** The access lies in declared memory (page by page: a page is declared whole). */
function checkRange(c: ValidationContext, addr: number, width: number, verb: string): void {
  if (!Number.isInteger(addr) || addr < 0) c.fail('bad-operation', `${verb} a bad address ${addr}`);
  if (!Number.isInteger(width) || width < 1 || width > 4096) {
    c.fail('bad-operation', `${verb} ${hex(addr)} with a bad width ${width}`);
  }
  for (let a = addr; a < addr + width; a = (Math.floor(a / PAGE_SIZE) + 1) * PAGE_SIZE) {
    if (!c.memory.isDeclared(a)) {
      c.fail(
        'out-of-bounds',
        `${verb} ${hex(addr)}/${width}: address ${hex(a)} is outside the guest memory the scenario declares`,
      );
    }
  }
}

function checkBytes(c: ValidationContext, b: Bytes, what: string): void {
  if (!Array.isArray(b) || b.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) {
    c.fail('bad-operation', `gave ${what} that are not an array of bytes`);
  }
}

function checkLock(c: ValidationContext, lock: string, mode: string): void {
  if (!c.locks.has(lock)) c.fail('unknown-lock', `uses undeclared lock '${lock}'`);
  if (mode !== 'exclusive' && mode !== 'shared') c.fail('bad-operation', `uses lock mode '${mode}'`);
  if (mode === 'shared' && c.locks.kind(lock) === 'spinlock') {
    c.fail('bad-operation', `takes spinlock '${lock}' in shared mode`);
  }
}

function checkSync(c: ValidationContext, sync: unknown, allowed: readonly AccessSync[], what: string): void {
  if (sync !== undefined && !(allowed as readonly unknown[]).includes(sync))
    c.fail(
      'bad-operation',
      `declares a ${what} as ${JSON.stringify(sync)} (a ${what} may be ${allowed.join(', ')})`,
    );
}
