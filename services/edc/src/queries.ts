import { UtcInstant, type Device } from '@cohort/contracts';
import type { Sql } from '@cohort/infra';
import { z } from 'zod';

export interface CaseReport {
  eventId: string;
  requestId: string;
  trialId: string;
  patientId: string;
  questionnaire: { id: string; version: string };
  answers: unknown;
  completedAt: string;
  recordedAt: string;
  seq: number;
  /** Recorded after the trial closed. */
  late: boolean;
  /** The site the entry came from, or null when its report did not say (all v1 reports). */
  siteId: string | null;
  /** The app the entry was made in, or null when its report did not say. */
  device: Device | null;
}

export interface TrialSummary {
  trialId: string;
  /** The trial's status from project management, or null before EDC has heard of it. */
  status: string | null;
  locked: boolean;
  closedAt: string | null;
  lockedAt: string | null;
  /** Reports recorded after the trial closed. */
  lateReports: number;
  reports: number;
  patients: number;
  firstCompletedAt: string | null;
  lastCompletedAt: string | null;
  lastRecordedAt: string | null;
}

export interface ReportQuery {
  trialId: string;
  patientId?: string;
  /** Reports completed at or after this instant. */
  from?: string;
  /** Reports completed before this instant. */
  to?: string;
  limit: number;
  /** Opaque position from a previous page's `nextCursor`. */
  cursor?: string;
}

export interface Page<T> {
  items: T[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

interface DbRow {
  event_id: string;
  request_id: string;
  trial_id: string;
  patient_id: string;
  questionnaire_id: string;
  questionnaire_version: string;
  answers: unknown;
  completed_at: Date;
  recorded_at: Date;
  stream_seq: string | number | bigint;
  late: boolean;
  site_id: string | null;
  platform: Device['platform'] | null;
  app_version: string | null;
  /** completed_at to the microsecond (a Date keeps milliseconds only). */
  cursor_at: string;
}

const iso = (d: Date | string) => (d instanceof Date ? d.toISOString() : new Date(d).toISOString());

/** A `cursor` that is not one this API handed out. */
export class InvalidCursorError extends Error {}

const CURSOR_SEPARATOR = '|';
const CursorId = z.uuid();

function encodeCursor(r: DbRow): string {
  return Buffer.from(`${r.cursor_at}${CURSOR_SEPARATOR}${r.event_id}`).toString('base64url');
}

/**
 * The position a cursor names, checked as strictly as the query's own parameters: canonical
 * base64url of `<UtcInstant>|<uuid>`, nothing else, so that no malformed cursor reaches SQL.
 */
function decodeCursor(c: string): [string, string] {
  const bytes = Buffer.from(c, 'base64url');
  // Buffer skips characters outside the alphabet; only a cursor that re-encodes to itself is one.
  if (bytes.toString('base64url') !== c) throw new InvalidCursorError('invalid cursor');
  const parts = bytes.toString('utf8').split(CURSOR_SEPARATOR);
  const [at, id] = parts;
  if (parts.length !== 2 || !UtcInstant.safeParse(at).success || !CursorId.safeParse(id).success) {
    throw new InvalidCursorError('invalid cursor');
  }
  return [at!, id!];
}

/** Reports of a trial (or one patient), oldest completion first, keyset-paged. */
export async function listReports(db: Sql, q: ReportQuery): Promise<Page<CaseReport>> {
  const where = ['r.trial_id = $1'];
  const params: unknown[] = [q.trialId];
  const add = (clause: string, value: unknown) => {
    params.push(value);
    where.push(clause.replace('?', `$${params.length}`));
  };
  if (q.patientId) add('r.patient_id = ?', q.patientId);
  if (q.from) add('r.completed_at >= ?', q.from);
  if (q.to) add('r.completed_at < ?', q.to);
  if (q.cursor) {
    const [at, id] = decodeCursor(q.cursor);
    params.push(at, id);
    where.push(`(r.completed_at, r.event_id) > ($${params.length - 1}, $${params.length})`);
  }
  params.push(q.limit + 1);
  const { rows } = await db.query<DbRow>(
    `SELECT r.*, COALESCE(r.recorded_at > s.closed_at, false) AS late,
       to_char(r.completed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at
     FROM case_reports r LEFT JOIN trial_status s ON s.trial_id = r.trial_id
     WHERE ${where.join(' AND ')}
     ORDER BY r.completed_at, r.event_id LIMIT $${params.length}`,
    params,
  );
  const page = rows.slice(0, q.limit);
  return {
    items: page.map((r) => ({
      eventId: r.event_id,
      requestId: r.request_id,
      trialId: r.trial_id,
      patientId: r.patient_id,
      questionnaire: { id: r.questionnaire_id, version: r.questionnaire_version },
      answers: r.answers,
      completedAt: iso(r.completed_at),
      recordedAt: iso(r.recorded_at),
      seq: Number(r.stream_seq),
      late: r.late,
      siteId: r.site_id,
      device:
        r.platform !== null && r.app_version !== null
          ? { platform: r.platform, appVersion: r.app_version }
          : null,
    })),
    nextCursor: rows.length > q.limit ? encodeCursor(page[page.length - 1]!) : null,
  };
}

const isoOrNull = (d: Date | string | null) => (d === null ? null : iso(d));

export async function trialSummary(db: Sql, trialId: string): Promise<TrialSummary | null> {
  const { rows } = await db.query<{
    reports: number | null;
    patients: number | null;
    first_completed_at: Date | null;
    last_completed_at: Date | null;
    last_recorded_at: Date | null;
    status: string | null;
    closed_at: Date | null;
    locked_at: Date | null;
  }>(
    `SELECT m.reports, m.patients, m.first_completed_at, m.last_completed_at, m.last_recorded_at,
            s.status, s.closed_at, s.locked_at
     FROM (SELECT $1::text AS trial_id) t
     LEFT JOIN trial_summaries m ON m.trial_id = t.trial_id
     LEFT JOIN trial_status s ON s.trial_id = t.trial_id`,
    [trialId],
  );
  const r = rows[0];
  if (!r || (r.reports === null && r.status === null)) return null;
  let lateReports = 0;
  if (r.closed_at !== null && r.reports !== null) {
    const late = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM case_reports WHERE trial_id = $1 AND recorded_at > $2',
      [trialId, r.closed_at],
    );
    lateReports = late.rows[0]?.n ?? 0;
  }
  return {
    trialId,
    status: r.status,
    locked: r.status === 'locked',
    closedAt: isoOrNull(r.closed_at),
    lockedAt: isoOrNull(r.locked_at),
    reports: r.reports ?? 0,
    patients: r.patients ?? 0,
    lateReports,
    firstCompletedAt: isoOrNull(r.first_completed_at),
    lastCompletedAt: isoOrNull(r.last_completed_at),
    lastRecordedAt: isoOrNull(r.last_recorded_at),
  };
}
