import type { DiaryFrequency, NonComplianceRule } from '@cohort/contracts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assess, type Assessed, type Entry, type OccurrenceStatus } from './compliance.js';
import { breaches } from './non-compliance.js';
import { occurrences, type StatusChange } from './schedule.js';
import { DAY_MS, HOUR_MS, isoOf, msOf, plus } from './time.js';

const enrolledAt = '2026-01-05T09:00:00.000Z';
const day = (d: number) => plus(enrolledAt, (d - 1) * DAY_MS);
const STATUS: Record<string, OccurrenceStatus> = {
  O: 'on-time',
  L: 'late',
  M: 'missed',
  P: 'pending',
};

/** Daily occurrences from a string of O (on-time), L (late), M (missed), P (pending). */
const diary = (statuses: string): Assessed[] =>
  [...statuses].map((c, i) => ({
    day: i + 1,
    due: day(i + 1),
    closes: plus(day(i + 1), 12 * HOUR_MS),
    status: STATUS[c]!,
    entry: null,
  }));

const inARow = (count: number): NonComplianceRule => ({ kind: 'missed-in-a-row', count });
const below = (percent: number, windows: number): NonComplianceRule => ({
  kind: 'below-percent',
  percent,
  windows,
});

describe('missed in a row', () => {
  it('starts a breach at the K-th miss, named by the first miss of the run', () => {
    expect(breaches(diary('OMM'), inARow(3))).toEqual([]);
    expect(breaches(diary('OOMMM'), inARow(3))).toEqual([
      { breachId: day(3), percent: 40, missedInARow: 3 },
    ]);
  });

  it('is one breach while the misses go on', () => {
    expect(breaches(diary('MMMMMMMM'), inARow(3))).toEqual([
      { breachId: day(1), percent: 0, missedInARow: 3 },
    ]);
  });

  it('ends with an entry, on time or late, and a new run is a new breach', () => {
    expect(breaches(diary('MMMOMMM'), inARow(3)).map((b) => b.breachId)).toEqual([day(1), day(5)]);
    expect(breaches(diary('MMLMMLM'), inARow(3))).toEqual([]);
  });

  it('passes over pending occurrences: they are not decided', () => {
    expect(breaches(diary('OMMP'), inARow(3))).toEqual([]);
    expect(breaches(diary('OMMMP'), inARow(3))).toHaveLength(1);
  });

  it('with K = 1, each miss after an entry is a breach', () => {
    expect(breaches(diary('MOMMO'), inARow(1)).map((b) => b.breachId)).toEqual([day(1), day(3)]);
  });
});

describe('below percent over the last N', () => {
  it('waits for N decided occurrences', () => {
    expect(breaches(diary('MMMMP'), below(80, 5))).toEqual([]);
  });

  it('starts when the on-time share of the last N drops below P, named by the first of them', () => {
    expect(breaches(diary('OOOOM'), below(80, 5))).toEqual([]); // exactly 80%: not below
    expect(breaches(diary('OOOOOOMM'), below(80, 5))).toEqual([
      { breachId: day(4), percent: 60, missedInARow: 2 },
    ]);
  });

  it('counts late as not on time, with no miss in a row', () => {
    expect(breaches(diary('OOOLL'), below(80, 5))).toEqual([
      { breachId: day(1), percent: 60, missedInARow: 0 },
    ]);
  });

  it('is one breach while below, and a new one after recovering', () => {
    const got = breaches(diary('OOOMMMMMOOOOOOOMM'), below(80, 5));
    // Below from day 5 to day 11, back to 80% at day 12 (days 8-12), below again at day 17.
    expect(got).toEqual([
      { breachId: day(1), percent: 60, missedInARow: 2 },
      { breachId: day(13), percent: 60, missedInARow: 2 },
    ]);
  });

  it('compares the exact share, not the rounded one', () => {
    // 2 of 3 is 66.666…%: below 66.7 although it shows as 66.7.
    expect(breaches(diary('OOM'), below(66.7, 3))).toEqual([
      { breachId: day(1), percent: 66.7, missedInARow: 1 },
    ]);
  });
});

const rule: fc.Arbitrary<NonComplianceRule> = fc.oneof(
  fc.integer({ min: 1, max: 6 }).map(inARow),
  fc
    .tuple(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 8 }))
    .map(([p, n]) => below(p, n)),
);
const history = fc
  .array(fc.constantFrom('O', 'L', 'M', 'M', 'P'), { maxLength: 60 })
  .map((cs) => diary(cs.join('')));

describe('breach ids', () => {
  it('are the same for the same data, evaluated again or replayed from a copy', () => {
    fc.assert(
      fc.property(history, rule, (assessed, r) => {
        const first = breaches(assessed, r);
        expect(breaches(assessed, r)).toEqual(first);
        expect(breaches(structuredClone(assessed), structuredClone(r))).toEqual(first);
      }),
    );
  });

  it('never change when later occurrences are added: earlier breaches stay as they were', () => {
    fc.assert(
      fc.property(history, rule, (assessed, r) => {
        const all = breaches(assessed, r);
        for (let k = 0; k <= assessed.length; k++) {
          const early = breaches(assessed.slice(0, k), r);
          expect(all.slice(0, early.length)).toEqual(early);
        }
      }),
    );
  });

  it('are distinct, increasing, each the due of a decided occurrence', () => {
    fc.assert(
      fc.property(history, rule, (assessed, r) => {
        const ids = breaches(assessed, r).map((b) => b.breachId);
        const decided = new Set(assessed.filter((a) => a.status !== 'pending').map((a) => a.due));
        ids.forEach((id, i) => {
          expect(decided.has(id)).toBe(true);
          if (i > 0) expect(msOf(id)).toBeGreaterThan(msOf(ids[i - 1]!));
        });
      }),
    );
  });

  it('stay as the clock moves on: a later evaluation of the same reports keeps every earlier breach', () => {
    const active: StatusChange[] = [{ at: '2026-01-01T00:00:00.000Z', to: 'active' }];
    const start = msOf(enrolledAt);
    const schedule = (n: number, windowHours: number) => ({
      frequency: { kind: 'every', days: n } as DiaryFrequency,
      windowHours,
    });
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 72 }),
        fc.array(fc.integer({ min: 0, max: 24 * 60 }), { maxLength: 40 }),
        fc.integer({ min: 1, max: 24 * 60 }),
        fc.integer({ min: 0, max: 24 * 60 }),
        rule,
        (n, windowHours, entryHours, earlierHour, moreHours, r) => {
          const earlier = isoOf(start + earlierHour * HOUR_MS);
          const later = isoOf(start + (earlierHour + moreHours) * HOUR_MS);
          // The reports known at the earlier evaluation: completed before it.
          const entries: Entry[] = entryHours
            .filter((h) => h < earlierHour)
            .map((h, i) => ({ completedAt: isoOf(start + h * HOUR_MS), requestId: `r-${i}` }));
          const at = (t: string) =>
            assess(occurrences(schedule(n, windowHours), enrolledAt, active, t), entries, t);
          const before = breaches(at(earlier), r);
          expect(breaches(at(later), r).slice(0, before.length)).toEqual(before);
        },
      ),
    );
  });
});
