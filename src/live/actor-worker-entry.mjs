// An actor's worker thread (`live`): registers tsx in the worker (hooks registered on the
// main thread do not reach workers), then loads the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./actor-worker.ts');
