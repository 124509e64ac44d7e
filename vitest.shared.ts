import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * Shared test config: workspace packages resolve to their TypeScript sources through the
 * `source` export condition, so tests never run against a stale build.
 */
export default defineConfig({
  resolve: { conditions: ['source', 'module', 'node', 'development|production'] },
  ssr: { resolve: { conditions: ['source', 'module', 'node', 'development|production'] } },
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Worker threads started by code under test load its TypeScript sources (see the file).
    poolOptions: {
      forks: {
        execArgv: [
          '--import',
          fileURLToPath(new URL('./vitest.worker-loader.mjs', import.meta.url)),
        ],
      },
    },
  },
});
