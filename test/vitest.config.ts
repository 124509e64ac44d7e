import { configDefaults, defineConfig, mergeConfig } from 'vitest/config';
import shared from '../vitest.shared.js';

// End-to-end files start several processes each: one file at a time on a 2-core machine.
// The fault suite (src/faults) runs on its own: `npm run test:faults`.
export default mergeConfig(
  shared,
  defineConfig({
    test: { fileParallelism: false, exclude: [...configDefaults.exclude, 'src/faults/**'] },
  }),
);
