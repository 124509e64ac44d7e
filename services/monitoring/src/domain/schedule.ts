import { MAX_STUDY_DAYS, type DiaryFrequency, type ProjectStatus } from '@cohort/contracts';
import { DAY_MS, HOUR_MS, isoOf, msOf } from './time.js';

/** A trial's status changed to `to`, effective at `at`. A trial is `planned` before any change. */
export interface StatusChange {
  at: string;
  to: ProjectStatus;
}

/** One expected diary entry: study `day` (1 = the enrolment day), `due` and the window's end. */
export interface Occurrence {
  day: number;
  /** When the entry is due: `enrolledAt + (day - 1) * 24h`. */
  due: string;
  /** The end of the on-time window, excluded: `due + windowHours`. */
  closes: string;
}

/** Statuses in which patients are expected to keep their diary. */
const EXPECTING: ReadonlySet<ProjectStatus> = new Set<ProjectStatus>(['enrolling', 'active']);

/** A trial's status before its first change. */
const INITIAL_STATUS: ProjectStatus = 'planned';

interface TimedChange extends StatusChange {
  ms: number;
}

/** Changes by effective time; a stable sort, so of changes at the same instant the last given wins. */
function byTime(changes: readonly StatusChange[]): TimedChange[] {
  return changes.map((c) => ({ ...c, ms: msOf(c.at) })).sort((a, b) => a.ms - b.ms);
}

/** The study days a frequency schedules, increasing, without repeats, within MAX_STUDY_DAYS. */
function studyDays(frequency: DiaryFrequency): number[] {
  if (frequency.kind === 'every') {
    const days: number[] = [];
    for (let d = 1; d <= MAX_STUDY_DAYS; d += frequency.days) days.push(d);
    return days;
  }
  // The contract already requires increasing days; sorting again costs little and keeps this
  // function total on any input.
  const listed = [...new Set(frequency.days)].filter(
    (d) => Number.isInteger(d) && d >= 1 && d <= MAX_STUDY_DAYS,
  );
  return listed.sort((a, b) => a - b);
}

/**
 * The occurrences a patient enrolled at `enrolledAt` is expected to fill in, due strictly before
 * `until`, in due order.
 *
 * Study day d is due at `enrolledAt + (d - 1) * 24h`; `every N` schedules days 1, 1+N, 1+2N, …,
 * `on` the listed days; no day past MAX_STUDY_DAYS. An occurrence is expected only when the
 * trial's status at its due instant (the last change with `at <= due`, `planned` before any) is
 * `enrolling` or `active`: occurrences due while the trial is planned, suspended, closed or
 * locked are left out. A change after an occurrence's due does not take it back: a suspension or
 * a close in the middle of an open window leaves that occurrence expected. `changes` may come in
 * any order. Linear in the occurrences plus n log n in the changes.
 */
export function occurrences(
  schedule: { frequency: DiaryFrequency; windowHours: number },
  enrolledAt: string,
  changes: StatusChange[],
  until: string,
): Occurrence[] {
  const start = msOf(enrolledAt);
  const end = msOf(until);
  const windowMs = schedule.windowHours * HOUR_MS;
  const timeline = byTime(changes);
  const out: Occurrence[] = [];
  let status = INITIAL_STATUS;
  let next = 0;
  for (const day of studyDays(schedule.frequency)) {
    const due = start + (day - 1) * DAY_MS;
    if (due >= end) break;
    while (next < timeline.length && timeline[next]!.ms <= due) status = timeline[next++]!.to;
    if (EXPECTING.has(status)) out.push({ day, due: isoOf(due), closes: isoOf(due + windowMs) });
  }
  return out;
}

/**
 * The instant compliance is judged at: `now`, or, when the trial is locked as of `now`, the
 * instant it was locked (the start of its last run of `locked`), so nothing after the lock
 * (a late entry, the clock moving on) changes a locked trial's compliance. Changes effective
 * after `now` are not in force yet and are ignored. Returns `now` or the change's `at` as given.
 */
export function evaluationTime(changes: StatusChange[], now: string): string {
  const nowMs = msOf(now);
  let lockedSince: string | null = null;
  for (const c of byTime(changes)) {
    if (c.ms > nowMs) break;
    if (c.to !== 'locked') lockedSince = null;
    else lockedSince ??= c.at;
  }
  return lockedSince ?? now;
}
