import { describe, expect, it } from 'vitest';
import { upcast, type UpcasterRegistry } from './upcasters.js';

// A history of breaking changes to an invented event: v1 had a single score, v2 a list of
// scores, v3 renamed the list.
const registry: UpcasterRegistry = {
  ScoreRecorded: {
    1: (d) => ({ scores: [(d as { score: number }).score] }),
    2: (d) => ({ values: (d as { scores: number[] }).scores }),
  },
};

describe('upcast', () => {
  it('brings an old event through every step to the latest version', () => {
    expect(
      upcast({ type: 'ScoreRecorded', version: 1, id: 'x', data: { score: 4 } }, registry),
    ).toEqual({
      type: 'ScoreRecorded',
      version: 3,
      id: 'x',
      data: { values: [4] },
    });
    expect(
      upcast({ type: 'ScoreRecorded', version: 2, data: { scores: [1, 2] } }, registry),
    ).toMatchObject({
      version: 3,
      data: { values: [1, 2] },
    });
  });

  it('leaves latest events, unknown types and non-events alone, and never mutates its input', () => {
    const latest = { type: 'ScoreRecorded', version: 3, data: { values: [] } };
    expect(upcast(latest, registry)).toBe(latest);
    const other = { type: 'Other', version: 1, data: {} };
    expect(upcast(other, registry)).toBe(other);
    expect(upcast('text', registry)).toBe('text');
    const old = { type: 'ScoreRecorded', version: 1, data: { score: 1 } };
    upcast(old, registry);
    expect(old).toEqual({ type: 'ScoreRecorded', version: 1, data: { score: 1 } });
  });
});
