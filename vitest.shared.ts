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
  },
});
