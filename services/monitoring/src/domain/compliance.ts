import type { Occurrence } from './schedule.js';
import { msOf } from './time.js';

/** A report of the schedule's questionnaire: when it was completed and its idempotency key. */
export interface Entry {
  completedAt: string;
  requestId: string;
}

/**
 * What became of an occurrence: an entry in its window (`on-time`), an entry after it (`late`),
 * none and its window closed (`missed`), none yet and its window still open (`pending`).
 */
export type OccurrenceStatus = 'on-time' | 'late' | 'missed' | 'pending';

/** An occurrence with its status and the entry that counted for it (null for missed and pending). */
export interface Assessed extends Occurrence {
  status: OccurrenceStatus;
  entry: Entry | null;
}

interface TimedEntry {
  ms: number;
  entry: Entry;
}

/**
 * The entries completed at or before `atMs`, by completion time, one per requestId (a retried
 * submission carries the same requestId: it is one entry, counted once).
 */
function usableEntries(entries: readonly Entry[], atMs: number): TimedEntry[] {
  const sorted = entries
    .map((entry) => ({ ms: msOf(entry.completedAt), entry }))
    .filter((e) => e.ms <= atMs)
    .sort((a, b) => a.ms - b.ms);
  const seen = new Set<string>();
  const out: TimedEntry[] = [];
  for (const e of sorted) {
    if (seen.has(e.entry.requestId)) continue;
    seen.add(e.entry.requestId);
    out.push(e);
  }
  return out;
}

/**
 * Each occurrence's status at the evaluation time `at`. `occurrences` must be in due order (a
 * RangeError otherwise); the result keeps that order, one Assessed per occurrence.
 *
 * Only entries completed at or before `at` count, each for one occurrence at most. In due order,
 * an occurrence is
 * - `on-time` with the earliest unused entry completed in `[due, closes)`;
 * - else `late` with the earliest unused entry completed in `[closes, next occurrence's due)`, or
 *   for the last occurrence in `[closes, at]`;
 * - else `missed` when `at >= closes`, else `pending`.
 * A missed occurrence becomes late when a late entry arrives before the next due. Further entries
 * in one window are unscheduled and count for nothing, as do entries before the first due. An
 * entry completed while no occurrence is expected (a suspension) counts only as the late entry
 * of the last expected occurrence before it, under the rule above; it never makes an unexpected
 * day count. When windows overlap (windowHours longer than the interval), an entry inside two
 * windows counts for the earlier occurrence that has none.
 *
 * O(n log n) in the entries plus O(occurrences): one cursor walks the sorted entries, since each
 * occurrence takes an entry after the one the previous occurrence took.
 */
export function assess(occurrences: Occurrence[], entries: Entry[], at: string): Assessed[] {
  const atMs = msOf(at);
  const sorted = usableEntries(entries, atMs);
  const dues = occurrences.map((o) => msOf(o.due));
  dues.forEach((due, i) => {
    if (i > 0 && due < dues[i - 1]!) {
      throw new RangeError(`occurrences out of due order at ${occurrences[i]!.due}`);
    }
  });
  let cursor = 0;
  return occurrences.map((occurrence, i): Assessed => {
    const due = dues[i]!;
    const closes = msOf(occurrence.closes);
    const lateUntil = dues[i + 1] ?? Number.POSITIVE_INFINITY;
    while (cursor < sorted.length && sorted[cursor]!.ms < due) cursor++;
    const candidate = sorted[cursor];
    if (candidate && candidate.ms < closes) {
      cursor++;
      return { ...occurrence, status: 'on-time', entry: candidate.entry };
    }
    if (candidate && candidate.ms < lateUntil) {
      cursor++;
      return { ...occurrence, status: 'late', entry: candidate.entry };
    }
    return { ...occurrence, status: atMs >= closes ? 'missed' : 'pending', entry: null };
  });
}

/** A patient's (or, combined, a site's or a trial's) diary compliance at an evaluation time. */
export interface ComplianceSummary {
  /** Occurrences expected so far (due before the evaluation time). */
  expected: number;
  onTime: number;
  late: number;
  missed: number;
  /** Occurrences whose window is still open with no entry yet: not judged. */
  pending: number;
  /** On-time over decided (on-time + late + missed), in percent to one decimal; null when none is decided. */
  percent: number | null;
  /** The latest entry completed at or before the evaluation time, any window or none. */
  lastReportAt: string | null;
}

/** `part` of `whole` in percent, rounded to one decimal; null when `whole` is 0. */
export function percentOf(part: number, whole: number): number | null {
  // Scaled to tenths first so 2/3 gives 66.7, not 66.66666666666667 rounded through a float.
  return whole === 0 ? null : Math.round((part * 1000) / whole) / 10;
}

/** The later of two optional instants, compared as instants; each returned as given. */
function latest(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return msOf(b) > msOf(a) ? b : a;
}

/**
 * Counts of `assessed` by status, its on-time percent over decided occurrences, and the latest
 * of `entries` completed at or before `at`.
 */
export function summarize(assessed: Assessed[], entries: Entry[], at: string): ComplianceSummary {
  const count = (status: OccurrenceStatus) => assessed.filter((a) => a.status === status).length;
  const onTime = count('on-time');
  const late = count('late');
  const missed = count('missed');
  const atMs = msOf(at);
  const lastReportAt = entries
    .filter((e) => msOf(e.completedAt) <= atMs)
    .reduce<string | null>((acc, e) => latest(acc, e.completedAt), null);
  return {
    expected: assessed.length,
    onTime,
    late,
    missed,
    pending: count('pending'),
    percent: percentOf(onTime, onTime + late + missed),
    lastReportAt,
  };
}

/**
 * Summaries added up (a site's patients, a trial's sites): counts summed, percent recomputed
 * from the sums (so a patient with many windows weighs more than one with few), the latest
 * lastReportAt. No summaries give zeros and nulls.
 */
export function combine(summaries: ComplianceSummary[]): ComplianceSummary {
  const sum = (pick: (s: ComplianceSummary) => number) =>
    summaries.reduce((acc, s) => acc + pick(s), 0);
  const onTime = sum((s) => s.onTime);
  const late = sum((s) => s.late);
  const missed = sum((s) => s.missed);
  return {
    expected: sum((s) => s.expected),
    onTime,
    late,
    missed,
    pending: sum((s) => s.pending),
    percent: percentOf(onTime, onTime + late + missed),
    lastReportAt: summaries.reduce<string | null>((acc, s) => latest(acc, s.lastReportAt), null),
  };
}
