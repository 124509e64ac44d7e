import type { DiaryFrequency } from '@cohort/contracts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  assess,
  combine,
  summarize,
  type Assessed,
  type ComplianceSummary,
  type Entry,
  type OccurrenceStatus,
} from './compliance.js';
import { evaluationTime, occurrences, type Occurrence, type StatusChange } from './schedule.js';
import { DAY_MS, HOUR_MS, isoOf, msOf, plus } from './time.js';

const enrolledAt = '2026-01-05T09:00:00.000Z';
const day = (d: number) => plus(enrolledAt, (d - 1) * DAY_MS);
const active: StatusChange[] = [{ at: '2026-01-01T00:00:00.000Z', to: 'active' }];
const every = (days: number, windowHours: number) => ({
  frequency: { kind: 'every', days } as DiaryFrequency,
  windowHours,
});
let seq = 0;
const entry = (completedAt: string, requestId = `r-${++seq}`): Entry => ({
  completedAt,
  requestId,
});
const statuses = (as: Assessed[]) => as.map((a) => a.status);

/** The whole evaluation as monitoring runs it: the clock, the occurrences, their statuses. */
function evaluate(
  schedule: { frequency: DiaryFrequency; windowHours: number },
  changes: StatusChange[],
  entries: Entry[],
  now: string,
) {
  const at = evaluationTime(changes, now);
  const assessed = assess(occurrences(schedule, enrolledAt, changes, at), entries, at);
  return { assessed, summary: summarize(assessed, entries, at) };
}

describe('assess', () => {
  it('judges the window as [due, closes): at due on time, at closes late', () => {
    const occs = occurrences(every(1, 12), enrolledAt, active, day(7));
    const entries = [
      entry(day(1)), // exactly at due
      entry(plus(day(2), 12 * HOUR_MS - 1)), // the last millisecond of the window
      entry(plus(day(3), 12 * HOUR_MS)), // exactly at closes
      entry(plus(day(5), -1)), // the last millisecond before the next due
      entry(day(6)), // exactly at the next due: day 6's, not day 5's
    ];
    const got = assess(occs, entries, day(7));
    expect(statuses(got)).toEqual(['on-time', 'on-time', 'late', 'late', 'missed', 'on-time']);
    expect(got.map((a) => a.entry)).toEqual([
      entries[0],
      entries[1],
      entries[2],
      entries[3],
      null,
      entries[4],
    ]);
  });

  it('decides a miss only once the window has closed, and a late entry turns it late', () => {
    const occs = occurrences(every(7, 24), enrolledAt, active, day(2));
    const closes = occs[0]!.closes;
    const late = entry(plus(closes, HOUR_MS));
    expect(statuses(assess(occs, [late], plus(closes, -1)))).toEqual(['pending']);
    expect(statuses(assess(occs, [late], closes))).toEqual(['missed']);
    expect(statuses(assess(occs, [late], plus(closes, HOUR_MS - 1)))).toEqual(['missed']);
    expect(statuses(assess(occs, [late], plus(closes, HOUR_MS)))).toEqual(['late']);
  });

  it('counts only entries completed by the evaluation time', () => {
    const occs = occurrences(every(1, 12), enrolledAt, active, day(2));
    const e = entry(plus(day(1), HOUR_MS));
    expect(statuses(assess(occs, [e], plus(day(1), HOUR_MS - 1)))).toEqual(['pending']);
    expect(statuses(assess(occs, [e], plus(day(1), HOUR_MS)))).toEqual(['on-time']);
  });

  it('takes the earliest of several entries in one window and ignores the rest', () => {
    const occs = occurrences(every(1, 12), enrolledAt, active, day(3));
    const entries = [3, 1, 2].map((h) => entry(plus(day(1), h * HOUR_MS)));
    const got = assess(occs, entries, day(3));
    expect(statuses(got)).toEqual(['on-time', 'missed']);
    expect(got[0]!.entry).toBe(entries[1]);
  });

  it('ignores an entry before the first due', () => {
    const occs = occurrences(every(1, 12), enrolledAt, active, day(2));
    expect(statuses(assess(occs, [entry(plus(enrolledAt, -1))], day(2)))).toEqual(['missed']);
  });

  it('counts any entry after the last window closed as late, up to the evaluation time', () => {
    const single = { frequency: { kind: 'on', days: [1] } as DiaryFrequency, windowHours: 24 };
    const occs = occurrences(single, enrolledAt, active, day(40));
    expect(statuses(assess(occs, [entry(day(20))], day(40)))).toEqual(['late']);
    expect(statuses(assess(occs, [entry(day(20))], day(19)))).toEqual(['missed']);
  });

  it('lets a late entry of an `on` schedule come any day before the next listed day', () => {
    const visits = {
      frequency: { kind: 'on', days: [1, 8, 15] } as DiaryFrequency,
      windowHours: 24,
    };
    const at = plus(day(15), HOUR_MS);
    const occs = occurrences(visits, enrolledAt, active, at);
    // Day 5: day 1's late entry. Just before day 15: day 8 already has one, so it counts for nothing.
    const entries = [entry(day(5)), entry(day(8)), entry(plus(day(15), -1))];
    expect(statuses(assess(occs, entries, at))).toEqual(['late', 'on-time', 'pending']);
    expect(statuses(assess(occs, [], day(17)))).toEqual(['missed', 'missed', 'missed']);
  });

  it('gives an entry inside two overlapping windows to the earlier occurrence without one', () => {
    const occs = occurrences(every(1, 48), enrolledAt, active, day(4));
    const onlyDay2 = assess(occs, [entry(plus(day(2), HOUR_MS))], plus(day(4), 1));
    expect(statuses(onlyDay2)).toEqual(['on-time', 'missed', 'pending']);
    const eachDay = [1, 2, 3].map((d) => entry(plus(day(d), HOUR_MS)));
    expect(statuses(assess(occs, eachDay, day(6)))).toEqual(['on-time', 'on-time', 'on-time']);
  });

  it('counts a retried submission (same requestId) once', () => {
    const occs = occurrences(every(1, 48), enrolledAt, active, day(3));
    const twice = [entry(plus(day(2), HOUR_MS), 'same'), entry(plus(day(2), HOUR_MS), 'same')];
    expect(statuses(assess(occs, twice, day(5)))).toEqual(['on-time', 'missed']);
  });

  it('compares instants, not text: `…:00Z` and `…:00.000Z` are the same instant', () => {
    const occs = occurrences(every(1, 12), enrolledAt, active, day(2));
    expect(statuses(assess(occs, [entry('2026-01-05T09:00:00Z')], day(2)))).toEqual(['on-time']);
  });

  it('refuses occurrences out of due order', () => {
    const occs = occurrences(every(1, 12), enrolledAt, active, day(3));
    expect(() => assess([...occs].reverse(), [], day(3))).toThrow(RangeError);
  });
});

describe('a trial status over time', () => {
  const daily = every(1, 12);

  it('a suspension in the middle of a window keeps that occurrence and pauses the next ones', () => {
    const changes: StatusChange[] = [
      ...active,
      { at: plus(day(3), 6 * HOUR_MS), to: 'suspended' },
      { at: day(7), to: 'active' },
    ];
    const inWindow = entry(plus(day(3), 8 * HOUR_MS)); // after the suspension began
    const duringSuspension = entry(day(5));
    const { assessed, summary } = evaluate(daily, changes, [inWindow, duringSuspension], day(9));
    expect(assessed.map((a) => [a.day, a.status])).toEqual([
      [1, 'missed'],
      [2, 'missed'],
      [3, 'on-time'],
      [7, 'missed'],
      [8, 'missed'],
    ]);
    expect(summary).toMatchObject({ expected: 5, onTime: 1, late: 0, missed: 4 });
    // Without day 3's own entry, the one during the suspension is day 3's late entry.
    const late = evaluate(daily, changes, [duringSuspension], day(9)).assessed;
    expect(late.map((a) => a.status)).toEqual(['missed', 'missed', 'late', 'missed', 'missed']);
  });

  it('a closed trial expects nothing more, and a window open at the close still closes', () => {
    const changes: StatusChange[] = [...active, { at: plus(day(4), HOUR_MS), to: 'closed' }];
    const open = evaluate(daily, changes, [], plus(day(4), 2 * HOUR_MS)).summary;
    expect(open).toMatchObject({ expected: 4, missed: 3, pending: 1 });
    const later = evaluate(daily, changes, [], day(30)).summary;
    expect(later).toMatchObject({ expected: 4, missed: 4, pending: 0, percent: 0 });
  });

  it('a lock freezes compliance: nothing after the lock changes it', () => {
    const changes: StatusChange[] = [
      ...active,
      { at: plus(day(4), 13 * HOUR_MS), to: 'closed' },
      { at: day(6), to: 'locked' },
    ];
    const beforeLock = entry(day(5)); // day 4's late entry, after the close
    const afterLock = [entry(plus(day(6), 1)), entry(day(8))];
    const atLock = evaluate(daily, changes, [beforeLock], day(6));
    for (const now of [day(7), day(400)]) {
      expect(evaluate(daily, changes, [beforeLock, ...afterLock], now)).toEqual(atLock);
    }
    expect(atLock.summary).toEqual({
      expected: 4,
      onTime: 0,
      late: 1,
      missed: 3,
      pending: 0,
      percent: 0,
      lastReportAt: day(5),
    });
  });
});

/** The rules of `assess` read literally, with a quadratic search: the model the fast one must match. */
function reference(occs: Occurrence[], entries: Entry[], at: string): Assessed[] {
  const usable = entries
    .filter((e) => msOf(e.completedAt) <= msOf(at))
    .sort((a, b) => msOf(a.completedAt) - msOf(b.completedAt))
    .filter((e, i, all) => all.findIndex((x) => x.requestId === e.requestId) === i);
  const used = new Set<Entry>();
  const take = (from: number, to: number) => {
    const e = usable.find(
      (x) => !used.has(x) && msOf(x.completedAt) >= from && msOf(x.completedAt) < to,
    );
    if (e) used.add(e);
    return e ?? null;
  };
  return occs.map((o, i): Assessed => {
    const next = occs[i + 1] ? msOf(occs[i + 1]!.due) : Number.POSITIVE_INFINITY;
    const onTime = take(msOf(o.due), msOf(o.closes));
    if (onTime) return { ...o, status: 'on-time', entry: onTime };
    const late = take(msOf(o.closes), next);
    if (late) return { ...o, status: 'late', entry: late };
    return { ...o, status: msOf(at) >= msOf(o.closes) ? 'missed' : 'pending', entry: null };
  });
}

describe('assess against the rules read literally', () => {
  const start = msOf(enrolledAt);
  const hours = (max: number) =>
    fc.integer({ min: -24, max }).map((h) => isoOf(start + h * HOUR_MS));

  it('agrees on random schedules, suspensions and entries (overlapping windows, retries)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 168 }),
        fc.array(fc.record({ at: hours(24 * 40), to: fc.constantFrom('active', 'suspended') }), {
          maxLength: 4,
        }),
        fc.array(
          fc.record({
            completedAt: hours(24 * 40),
            requestId: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'),
          }),
          {
            maxLength: 30,
          },
        ),
        hours(24 * 40),
        (n, windowHours, suspensions, entries, at) => {
          const changes: StatusChange[] = [...active, ...suspensions];
          const occs = occurrences(every(n, windowHours), enrolledAt, changes, at);
          expect(assess(occs, entries, at)).toEqual(reference(occs, entries, at));
        },
      ),
    );
  });

  it('agrees on a year of daily entries with a thousand reports', () => {
    const occs = occurrences(every(1, 8), enrolledAt, active, day(366));
    const entries = Array.from({ length: 1000 }, (_, i) =>
      entry(isoOf(start + ((i * 7_919_993) % (366 * DAY_MS)))),
    );
    const got = assess(occs, entries, day(366));
    expect(got).toHaveLength(365);
    expect(got).toEqual(reference(occs, entries, day(366)));
  });

  it('reads each entry once however many occurrences there are (no scan per occurrence)', () => {
    const occs = occurrences(every(1, 8), enrolledAt, active, day(366));
    let reads = 0;
    const entries = Array.from({ length: 1000 }, (_, i) => {
      // Two or three a day, all inside that day's 8-hour window.
      const completedAt = isoOf(start + (i % 365) * DAY_MS + (1 + Math.floor(i / 365)) * HOUR_MS);
      return {
        requestId: `e-${i}`,
        get completedAt() {
          reads++;
          return completedAt;
        },
      };
    });
    const got = assess(occs, entries, day(366));
    expect(reads).toBe(entries.length);
    expect(got.every((a) => a.status === 'on-time')).toBe(true);
  });

  it('judges ten years of daily entries against a hundred thousand reports', () => {
    const occs = occurrences(every(1, 12), enrolledAt, active, '2040-01-01T00:00:00Z');
    const entries = Array.from({ length: 100_000 }, (_, i) =>
      entry(isoOf(start + Math.floor((i * 3650 * DAY_MS) / 100_000))),
    );
    const summary = summarize(
      assess(occs, entries, '2040-01-01T00:00:00Z'),
      entries,
      '2040-01-01T00:00:00Z',
    );
    expect(summary).toMatchObject({ expected: 3650, onTime: 3650, late: 0, missed: 0 });
  });
});

describe('summarize', () => {
  const at = day(10);
  const assessedOf = (...ss: OccurrenceStatus[]): Assessed[] =>
    ss.map((status, i) => ({
      day: i + 1,
      due: day(i + 1),
      closes: day(i + 1),
      status,
      entry: null,
    }));

  it('counts by status and gives on-time over decided, to one decimal', () => {
    const s = summarize(assessedOf('on-time', 'on-time', 'missed', 'pending'), [], at);
    expect(s).toEqual({
      expected: 4,
      onTime: 2,
      late: 0,
      missed: 1,
      pending: 1,
      percent: 66.7,
      lastReportAt: null,
    });
    expect(summarize(assessedOf('on-time', 'late', 'missed'), [], at).percent).toBe(33.3);
  });

  it('has no percent while nothing is decided', () => {
    expect(summarize(assessedOf('pending'), [], at).percent).toBeNull();
    expect(summarize([], [], at)).toMatchObject({ expected: 0, percent: null });
  });

  it('gives the latest entry completed by the evaluation time, by instant not text', () => {
    const entries = [
      entry('2026-01-05T10:00:00Z'),
      entry('2026-01-05T10:00:00.500Z'),
      entry(plus(at, 1)),
    ];
    expect(summarize([], entries, at).lastReportAt).toBe('2026-01-05T10:00:00.500Z');
  });
});

describe('combine', () => {
  const summary = (s: Partial<ComplianceSummary>): ComplianceSummary => ({
    expected: 0,
    onTime: 0,
    late: 0,
    missed: 0,
    pending: 0,
    percent: null,
    lastReportAt: null,
    ...s,
  });

  it('sums the counts and recomputes the percent from the sums, not their mean', () => {
    const a = summary({ expected: 1, onTime: 1, percent: 100, lastReportAt: day(2) });
    const b = summary({ expected: 4, missed: 3, pending: 1, percent: 0, lastReportAt: day(3) });
    const c = summary({});
    expect(combine([a, b, c])).toEqual({
      expected: 5,
      onTime: 1,
      late: 0,
      missed: 3,
      pending: 1,
      percent: 25,
      lastReportAt: day(3),
    });
  });

  it('gives zeros and nulls for no summaries', () => {
    expect(combine([])).toEqual(summary({}));
  });
});
