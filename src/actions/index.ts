export { assert } from './assert.ts';
export { choose } from './choose.ts';
export { acquire, release, tryAcquire } from './locks.ts';
export { cmpxchg, read, write } from './memory.ts';
export { now } from './now.ts';
export type { OpArg, OperationEvent } from './op-action.ts';
export { send } from './send.ts';
