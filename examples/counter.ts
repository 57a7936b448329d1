// Two vCPUs each add 1 to a shared counter in guest memory, under a spinlock.

import type { DoneEvent, OperationEvent } from 'vcpusim';
import { acquire, defineScenario, leToNumber, read, release, resultBytes, toLe, write } from 'vcpusim';
import { setup } from 'xstate';

const COUNTER = 0x1000;

const vcpu = setup({
  types: { events: {} as DoneEvent, emitted: {} as OperationEvent },
  actions: { lock: acquire('counter_lock'), unlock: release('counter_lock') },
}).createMachine({
  id: 'vcpu',
  initial: 'load',
  states: {
    load: { entry: ['lock', read(COUNTER, 4, 'n')], on: { 'ops.done': 'store' } },
    store: {
      entry: [write(COUNTER, ({ event }) => toLe(leToNumber(resultBytes(event, 'n')) + 1, 4)), 'unlock'],
      on: { 'ops.done': 'done' },
    },
    done: { type: 'final' },
  },
});

export default defineScenario({
  name: 'counter',
  description: 'two vCPUs increment one counter',
  memory: () => [{ name: 'shared page', base: 0x1000, pages: 1, type: 'ram' }],
  locks: () => ({ counter_lock: 'spinlock' }),
  actors: () => ({ vcpu0: { machine: vcpu }, vcpu1: { machine: vcpu } }),
  invariants: {
    'no lost update': (view) =>
      view.actorNames.every((a) => view.actor(a).done) && view.peek(COUNTER, 1)[0] !== 2
        ? `counter is ${view.peek(COUNTER, 1)[0]} after both increments`
        : undefined,
  },
  variants: {
    locked: { description: 'read-modify-write under the lock', expect: 'pass' },
    'no-lock': {
      description: 'the lock is left out',
      expect: 'bug',
      provide: { vcpu: { actions: { lock: () => {}, unlock: () => {} } } },
    },
  },
});
