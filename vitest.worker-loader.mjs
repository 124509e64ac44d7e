// Lets worker threads started by code under test load the TypeScript sources that code is in.
// Vitest runs tests from sources, transformed in its own process; a worker thread is a new
// module graph that Node loads itself. Every test process starts with this file (see
// vitest.shared.ts) and worker threads inherit its flags: `.js` imports that name a missing file
// resolve to the `.ts` beside it, and `.ts` files are compiled with esbuild as they load.
import { register } from 'node:module';
import { isMainThread } from 'node:worker_threads';

// A test process loads through Vitest; only the worker threads it starts need the hooks, and
// hooks registered in a process make every module it loads pass through another thread.
if (!isMainThread) register(new URL('./vitest.worker-hooks.mjs', import.meta.url));
