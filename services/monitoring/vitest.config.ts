import { mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.js';

// A change crosses two durables and a relay before a read shows it: give polls their time.
export default mergeConfig(shared, { test: { expect: { poll: { timeout: 15_000 } } } });
