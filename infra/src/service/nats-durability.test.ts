import { describe, expect, it } from 'vitest';
import { canSyncEveryWrite } from './nats-durability.js';

describe('canSyncEveryWrite', () => {
  it.each([
    ['2.9.10', false],
    ['2.9.25', false],
    ['1.4.1', false],
    ['2.10.0', true],
    ['2.10.0-beta.5', true],
    ['2.11.3', true],
    ['3.0.0', true],
  ])('%s: %s', (version, expected) => {
    expect(canSyncEveryWrite(version)).toBe(expected);
  });
});
