import type { Sql } from '@cohort/infra';

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
}

export interface TrialSummary {
  trialId: string;
  reports: number;
  patients: number;
  firstCompletedAt: string;
  lastCompletedAt: string;
  lastRecordedAt: string;
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
}

const iso = (d: Date | string) => (d instanceof Date ? d.toISOString() : new Date(d).toISOString());

export class InvalidCursorError extends Error {}

function encodeCursor(r: DbRow): string {
  return Buffer.from(`${iso(r.completed_at)}|${r.event_id}`).toString('base64url');
}

function decodeCursor(c: string): [string, string] {
  const [at, id] = Buffer.from(c, 'base64url').toString().split('|');
  if (!at || !id || Number.isNaN(Date.parse(at)) || !/^[0-9a-f-]{36}$/.test(id)) {
    throw new InvalidCursorError('invalid cursor');
  }
  return [at, id];
}

/** Reports of a trial (or one patient), oldest completion first, keyset-paged. */
export async function listReports(db: Sql, q: ReportQuery): Promise<Page<CaseReport>> {
  const where = ['trial_id = $1'];
  const params: unknown[] = [q.trialId];
  const add = (clause: string, value: unknown) => {
    params.push(value);
    where.push(clause.replace('?', `$${params.length}`));
  };
  if (q.patientId) add('patient_id = ?', q.patientId);
  if (q.from) add('completed_at >= ?', q.from);
  if (q.to) add('completed_at < ?', q.to);
  if (q.cursor) {
    const [at, id] = decodeCursor(q.cursor);
    params.push(at, id);
    where.push(`(completed_at, event_id) > ($${params.length - 1}, $${params.length})`);
  }
  params.push(q.limit + 1);
  const { rows } = await db.query<DbRow>(
    `SELECT * FROM case_reports WHERE ${where.join(' AND ')}
     ORDER BY completed_at, event_id LIMIT $${params.length}`,
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
    })),
    nextCursor: rows.length > q.limit ? encodeCursor(page[page.length - 1]!) : null,
  };
}

export async function trialSummary(db: Sql, trialId: string): Promise<TrialSummary | null> {
  const { rows } = await db.query<{
    reports: number;
    patients: number;
    first_completed_at: Date;
    last_completed_at: Date;
    last_recorded_at: Date;
  }>('SELECT * FROM trial_summaries WHERE trial_id = $1', [trialId]);
  const r = rows[0];
  if (!r) return null;
  return {
    trialId,
    reports: r.reports,
    patients: r.patients,
    firstCompletedAt: iso(r.first_completed_at),
    lastCompletedAt: iso(r.last_completed_at),
    lastRecordedAt: iso(r.last_recorded_at),
  };
}
