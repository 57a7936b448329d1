// The worker threads' entry: registers tsx in the worker (hooks registered on the main
// thread do not reach workers), then loads the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
const worker = await import('./worker.ts');
export default worker.default;
export const share = worker.share;
export const warm = worker.warm;
