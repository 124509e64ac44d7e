import { MAX_STUDY_DAYS, type DiaryFrequency, type ProjectStatus } from '@cohort/contracts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluationTime, occurrences, type StatusChange } from './schedule.js';
import { DAY_MS, HOUR_MS, isoOf, msOf, plus } from './time.js';

const enrolledAt = '2026-01-05T09:00:00.000Z';
const day = (d: number) => plus(enrolledAt, (d - 1) * DAY_MS);
const daily = { frequency: { kind: 'every', days: 1 } as DiaryFrequency, windowHours: 12 };
const activeBefore: StatusChange[] = [
  { at: '2026-01-01T00:00:00.000Z', to: 'enrolling' },
  { at: '2026-01-02T00:00:00.000Z', to: 'active' },
];
const days = (os: { day: number }[]) => os.map((o) => o.day);

describe('occurrences', () => {
  it('puts study day 1 at the enrolment instant and each next day 24 hours on', () => {
    expect(occurrences(daily, enrolledAt, activeBefore, day(4))).toEqual([
      { day: 1, due: enrolledAt, closes: '2026-01-05T21:00:00.000Z' },
      { day: 2, due: '2026-01-06T09:00:00.000Z', closes: '2026-01-06T21:00:00.000Z' },
      { day: 3, due: '2026-01-07T09:00:00.000Z', closes: '2026-01-07T21:00:00.000Z' },
    ]);
  });

  it('takes only occurrences due strictly before until', () => {
    expect(days(occurrences(daily, enrolledAt, activeBefore, day(3)))).toEqual([1, 2]);
    expect(days(occurrences(daily, enrolledAt, activeBefore, plus(day(3), 1)))).toEqual([1, 2, 3]);
    expect(occurrences(daily, enrolledAt, activeBefore, enrolledAt)).toEqual([]);
  });

  it('counts study days in 24 hours across a leap day, not calendar days', () => {
    const os = occurrences(
      daily,
      '2024-02-28T23:30:00Z',
      activeBefore.map((c) => ({ ...c, at: c.at.replace('2026', '2024') })),
      '2024-03-02T00:00:00Z',
    );
    expect(os.map((o) => o.due)).toEqual([
      '2024-02-28T23:30:00.000Z',
      '2024-02-29T23:30:00.000Z',
      '2024-03-01T23:30:00.000Z',
    ]);
  });

  it('schedules every N days from day 1', () => {
    const every3 = { frequency: { kind: 'every', days: 3 } as DiaryFrequency, windowHours: 24 };
    expect(days(occurrences(every3, enrolledAt, activeBefore, day(11)))).toEqual([1, 4, 7, 10]);
  });

  it('schedules the listed study days of an `on` schedule', () => {
    const visits = {
      frequency: { kind: 'on', days: [1, 8, 29] } as DiaryFrequency,
      windowHours: 48,
    };
    const os = occurrences(visits, enrolledAt, activeBefore, day(100));
    expect(os).toEqual([
      { day: 1, due: day(1), closes: plus(day(1), 48 * HOUR_MS) },
      { day: 8, due: day(8), closes: plus(day(8), 48 * HOUR_MS) },
      { day: 29, due: day(29), closes: plus(day(29), 48 * HOUR_MS) },
    ]);
  });

  it('stops at MAX_STUDY_DAYS however far until is', () => {
    const os = occurrences(daily, enrolledAt, activeBefore, '9000-01-01T00:00:00Z');
    expect(os).toHaveLength(MAX_STUDY_DAYS);
    expect(os.at(-1)!.day).toBe(MAX_STUDY_DAYS);
  });

  it('expects nothing of a planned trial, and counts an enrolling one', () => {
    expect(occurrences(daily, enrolledAt, [], day(5))).toEqual([]);
    const enrolling: StatusChange[] = [{ at: enrolledAt, to: 'enrolling' }];
    expect(days(occurrences(daily, enrolledAt, enrolling, day(3)))).toEqual([1, 2]);
  });

  it('pauses expectations while suspended: a change at the due instant is in force', () => {
    const changes: StatusChange[] = [
      ...activeBefore,
      { at: plus(day(3), 6 * HOUR_MS), to: 'suspended' }, // in the middle of day 3's window
      { at: day(7), to: 'active' }, // exactly at day 7's due
    ];
    expect(days(occurrences(daily, enrolledAt, changes, day(9)))).toEqual([1, 2, 3, 7, 8]);
    const atDue: StatusChange[] = [...activeBefore, { at: day(3), to: 'suspended' }];
    expect(days(occurrences(daily, enrolledAt, atDue, day(9)))).toEqual([1, 2]);
  });

  it('expects nothing once closed or locked', () => {
    const closed: StatusChange[] = [...activeBefore, { at: plus(day(4), HOUR_MS), to: 'closed' }];
    expect(days(occurrences(daily, enrolledAt, closed, day(20)))).toEqual([1, 2, 3, 4]);
    const locked: StatusChange[] = [...closed, { at: day(6), to: 'locked' }];
    expect(days(occurrences(daily, enrolledAt, locked, day(20)))).toEqual([1, 2, 3, 4]);
  });

  it('reads changes in any order; of two at one instant the last given wins', () => {
    const changes: StatusChange[] = [
      { at: day(7), to: 'active' },
      { at: day(4), to: 'suspended' },
      ...[...activeBefore].reverse(),
    ];
    expect(days(occurrences(daily, enrolledAt, changes, day(9)))).toEqual([1, 2, 3, 7, 8]);
    const tie: StatusChange[] = [
      ...activeBefore,
      { at: day(2), to: 'suspended' },
      { at: day(2), to: 'active' },
    ];
    expect(days(occurrences(daily, enrolledAt, tie, day(3)))).toEqual([1, 2]);
  });

  it('agrees with the definition on random schedules and status histories', () => {
    const status = fc.constantFrom<ProjectStatus>(
      'planned',
      'enrolling',
      'active',
      'suspended',
      'closed',
      'locked',
    );
    const frequency: fc.Arbitrary<DiaryFrequency> = fc.oneof(
      fc.integer({ min: 1, max: 10 }).map((n) => ({ kind: 'every' as const, days: n })),
      fc
        .uniqueArray(fc.integer({ min: 1, max: 80 }), { minLength: 1, maxLength: 20 })
        .map((ds) => ({ kind: 'on' as const, days: ds.sort((a, b) => a - b) })),
    );
    const start = msOf(enrolledAt);
    const instant = fc
      .integer({ min: -5 * DAY_MS, max: 90 * DAY_MS })
      .map((ms) => isoOf(start + ms));
    fc.assert(
      fc.property(
        frequency,
        fc.integer({ min: 1, max: 168 }),
        fc.array(fc.record({ at: instant, to: status }), { maxLength: 8 }),
        instant,
        (freq, windowHours, changes, until) => {
          const got = occurrences({ frequency: freq, windowHours }, enrolledAt, changes, until);
          const scheduled =
            freq.kind === 'on'
              ? freq.days
              : Array.from({ length: 90 }, (_, i) => 1 + i * freq.days);
          const statusAt = (ms: number) =>
            changes
              .map((c, i) => ({ ...c, i }))
              .filter((c) => msOf(c.at) <= ms)
              .sort((a, b) => msOf(a.at) - msOf(b.at) || a.i - b.i)
              .at(-1)?.to ?? 'planned';
          const want = scheduled
            .map((d) => ({ d, due: start + (d - 1) * DAY_MS }))
            .filter(({ due }) => due < msOf(until))
            .filter(({ due }) => ['enrolling', 'active'].includes(statusAt(due)))
            .map(({ d, due }) => ({
              day: d,
              due: isoOf(due),
              closes: isoOf(due + windowHours * HOUR_MS),
            }));
          expect(got).toEqual(want);
        },
      ),
    );
  });
});

describe('evaluationTime', () => {
  const now = '2026-03-01T12:00:00.000Z';

  it('is now for a trial that is not locked', () => {
    expect(evaluationTime([], now)).toBe(now);
    expect(evaluationTime([...activeBefore, { at: day(20), to: 'closed' }], now)).toBe(now);
  });

  it('is the lock instant for a locked trial, in whatever order the changes come', () => {
    const lockAt = '2026-02-10T08:00:00.000Z';
    const changes: StatusChange[] = [
      { at: lockAt, to: 'locked' },
      { at: '2026-02-01T00:00:00.000Z', to: 'closed' },
      ...activeBefore,
    ];
    expect(evaluationTime(changes, now)).toBe(lockAt);
    expect(evaluationTime(changes, '2027-01-01T00:00:00.000Z')).toBe(lockAt);
    expect(evaluationTime(changes, lockAt)).toBe(lockAt);
  });

  it('is now while a lock is not yet in force', () => {
    const changes: StatusChange[] = [...activeBefore, { at: '2026-04-01T00:00:00Z', to: 'locked' }];
    expect(evaluationTime(changes, now)).toBe(now);
  });
});
