import { describe, expect, it } from 'vitest';
import { DAY_MS, HOUR_MS, isoOf, msOf, plus } from './time.js';

describe('time', () => {
  it('moves an instant by 24-hour days, across a leap day and a year end', () => {
    expect(plus('2024-02-28T23:30:00.000Z', DAY_MS)).toBe('2024-02-29T23:30:00.000Z');
    expect(plus('2025-12-31T12:00:00Z', 2 * DAY_MS)).toBe('2026-01-02T12:00:00.000Z');
    expect(plus('2026-01-31T09:00:00.000Z', -3 * HOUR_MS)).toBe('2026-01-31T06:00:00.000Z');
  });

  it('reads the same instant written with and without milliseconds alike', () => {
    expect(msOf('2026-01-31T09:00:00Z')).toBe(msOf('2026-01-31T09:00:00.000Z'));
    expect(isoOf(msOf('2026-01-31T09:00:00Z'))).toBe('2026-01-31T09:00:00.000Z');
  });

  it('refuses text that is not an instant instead of comparing NaN', () => {
    expect(() => msOf('yesterday')).toThrow(RangeError);
    expect(() => plus('', HOUR_MS)).toThrow(/not an instant/);
  });
});
