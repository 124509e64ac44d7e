import { availableParallelism } from 'node:os';
import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../vitest.shared.js';

// Integration tests mostly wait on their servers and timers, so two files at a time suit even a
// 2-core machine, where Vitest would otherwise run one (about 200 s for this package, 125 s so).
export default mergeConfig(
  shared,
  defineConfig({ test: { maxWorkers: Math.max(2, availableParallelism() - 1) } }),
);
