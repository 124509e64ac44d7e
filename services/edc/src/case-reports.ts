import { parseReportsEvent } from '@cohort/contracts';
import type { ReportsEvent, ReportSubmitted } from '@cohort/contracts';
import { SERVICES } from '@cohort/infra';
import type { ConsumerSpec, Envelope, EventMeta, Migration, Projection, Sql } from '@cohort/infra';

/** The durable consumer of this projection, declared with every durable in SERVICES. */
export const caseReportsConsumer: ConsumerSpec = SERVICES.edc.durables.caseReports;
/** Its name. Never rename it: the name is its position. */
export const CASE_REPORTS_CONSUMER = caseReportsConsumer.name;

export const migrations: Migration[] = [
  {
    version: 1,
    name: 'case reports and trial summaries',
    sql: `
      CREATE TABLE case_reports (
        event_id uuid PRIMARY KEY,
        request_id uuid NOT NULL UNIQUE,
        trial_id text NOT NULL,
        patient_id text NOT NULL,
        questionnaire_id text NOT NULL,
        questionnaire_version text NOT NULL,
        answers jsonb NOT NULL,
        completed_at timestamptz NOT NULL,
        recorded_at timestamptz NOT NULL,
        stream_seq bigint NOT NULL
      );
      CREATE INDEX case_reports_trial_time ON case_reports (trial_id, completed_at, event_id);
      CREATE INDEX case_reports_patient_time ON case_reports (trial_id, patient_id, completed_at, event_id);
      -- Which patients a trial has seen: insert-only, so a known patient costs one index probe.
      CREATE TABLE trial_patients (
        trial_id text NOT NULL,
        patient_id text NOT NULL,
        PRIMARY KEY (trial_id, patient_id)
      );
      CREATE TABLE trial_summaries (
        trial_id text PRIMARY KEY,
        reports integer NOT NULL,
        patients integer NOT NULL,
        first_completed_at timestamptz NOT NULL,
        last_completed_at timestamptz NOT NULL,
        last_recorded_at timestamptz NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'where a report came from: site and device (ReportSubmitted v2)',
    // Nullable: reports stored as v1 say neither, and a v2 report may not know them.
    sql: `
      ALTER TABLE case_reports
        ADD COLUMN site_id text,
        ADD COLUMN platform text,
        ADD COLUMN app_version text;
    `,
  },
];

interface Row {
  eventId: string;
  requestId: string;
  trialId: string;
  patientId: string;
  questionnaireId: string;
  questionnaireVersion: string;
  /** JSON of the answers as the event has them, units included. */
  answers: string;
  completedAt: string;
  recordedAt: string;
  seq: number;
  siteId: string | null;
  platform: string | null;
  appVersion: string | null;
}

function row(e: ReportSubmitted, meta: EventMeta): Row {
  return {
    eventId: e.id,
    requestId: e.data.requestId,
    trialId: e.data.trialId,
    patientId: e.data.patientId,
    questionnaireId: e.data.questionnaire.id,
    questionnaireVersion: e.data.questionnaire.version,
    answers: JSON.stringify(e.data.answers),
    completedAt: e.data.completedAt,
    recordedAt: e.recordedAt,
    seq: meta.seq,
    siteId: e.data.siteId,
    platform: e.data.device?.platform ?? null,
    appVersion: e.data.device?.appVersion ?? null,
  };
}

/**
 * Inserts the reports and counts them into the per-patient and per-trial tables, in one
 * statement whatever the batch size.
 *
 * Plain inserts, not upserts: the runtime's inbox already skips a report whose requestId was
 * applied, so a second copy never reaches this. Anything that slips past it (the same event id
 * under another requestId) breaks a unique key and fails loudly as a dead letter instead of
 * being counted twice. Every table is written in key order, so concurrent batches cannot
 * deadlock; a patient new to its trial is counted by the batch whose trial_patients row wins.
 */
async function insertReports(tx: Sql, rows: Row[]): Promise<void> {
  if (rows.length === 0) return;
  const col = <K extends keyof Row>(k: K) => rows.map((r) => r[k]);
  await tx.query(
    `WITH input AS (
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[],
                            $6::text[], $7::text[], $8::timestamptz[], $9::timestamptz[],
                            $10::bigint[], $11::text[], $12::text[], $13::text[])
                     AS x(e, r, t, p, q, v, a, c, rc, s, site, pf, av)
     ), reports AS (
       INSERT INTO case_reports (event_id, request_id, trial_id, patient_id, questionnaire_id,
         questionnaire_version, answers, completed_at, recorded_at, stream_seq, site_id,
         platform, app_version)
       SELECT e, r, t, p, q, v, a::jsonb, c, rc, s, site, pf, av FROM input ORDER BY e
     ), new_patients AS (
       INSERT INTO trial_patients (trial_id, patient_id)
       SELECT DISTINCT t, p FROM input ORDER BY t, p
       ON CONFLICT DO NOTHING
       RETURNING trial_id
     ), per_trial AS (
       SELECT t AS trial_id, count(*)::int AS n, min(c) AS first, max(c) AS last,
              max(rc) AS recorded
       FROM input GROUP BY t
     )
     INSERT INTO trial_summaries (trial_id, reports, patients, first_completed_at,
       last_completed_at, last_recorded_at)
     SELECT t.trial_id, t.n, (SELECT count(*) FROM new_patients p WHERE p.trial_id = t.trial_id),
            t.first, t.last, t.recorded
     FROM per_trial t ORDER BY t.trial_id
     ON CONFLICT (trial_id) DO UPDATE SET
       reports = trial_summaries.reports + EXCLUDED.reports,
       patients = trial_summaries.patients + EXCLUDED.patients,
       first_completed_at = LEAST(trial_summaries.first_completed_at, EXCLUDED.first_completed_at),
       last_completed_at = GREATEST(trial_summaries.last_completed_at, EXCLUDED.last_completed_at),
       last_recorded_at = GREATEST(trial_summaries.last_recorded_at, EXCLUDED.last_recorded_at)`,
    [
      col('eventId'),
      col('requestId'),
      col('trialId'),
      col('patientId'),
      col('questionnaireId'),
      col('questionnaireVersion'),
      col('answers'),
      col('completedAt'),
      col('recordedAt'),
      col('seq'),
      col('siteId'),
      col('platform'),
      col('appVersion'),
    ],
  );
}

/** The rows of a batch: one per report. */
function rowsOf(items: Envelope<ReportsEvent>[]): Row[] {
  return items.map(({ event, meta }) => row(event, meta));
}

/**
 * The EDC case-report read model: one row per submitted report, plus per-trial summaries.
 * Reports stored as v1 arrive upcast to v2 by the parser (no site, no device).
 */
export const caseReports: Projection<ReportsEvent> = {
  consumer: caseReportsConsumer,
  parse: parseReportsEvent,
  migrations,
  // A report is one per client requestId, even if it reached the stream twice.
  key: (event) => `request:${event.data.requestId}`,
  apply: (tx, event, meta) => insertReports(tx, rowsOf([{ event, meta }])),
  // The same statement as `apply`, for a whole batch.
  applyBatch: (tx, items) => insertReports(tx, rowsOf(items)),
};
