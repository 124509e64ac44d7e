import { defineConfig } from 'vitest/config';
import shared from '../vitest.shared.js';

// Fault tests kill and restart real processes: only them (not merged with the shared include,
// which would add every test), one file at a time.
export default defineConfig({
  ...shared,
  test: {
    ...shared.test,
    include: ['src/faults/**/*.fault.test.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
  },
});
