// Worker threads do not inherit the parent's tsx loader (and `--import tsx` in a worker's
// execArgv is not honoured by Node 20), so the worker registers tsx itself, then loads the
// TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./decode-worker.ts');
