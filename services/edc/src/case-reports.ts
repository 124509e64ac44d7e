import { Streams } from '@cohort/contracts';
import type { CohortEvent, ReportSubmitted } from '@cohort/contracts';
import type { ConsumerSpec, Envelope, EventMeta, Migration, Projection, Sql } from '@cohort/infra';
import { match } from 'ts-pattern';

/** The durable consumer of this projection. Never rename it: the name is its position. */
export const CASE_REPORTS_CONSUMER = 'edc-case-reports';

export const caseReportsConsumer: ConsumerSpec = {
  stream: Streams.REPORTS.name,
  name: CASE_REPORTS_CONSUMER,
};

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
];

interface Row {
  eventId: string;
  requestId: string;
  trialId: string;
  patientId: string;
  questionnaireId: string;
  questionnaireVersion: string;
  answers: string;
  completedAt: string;
  recordedAt: string;
  seq: number;
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
  };
}

/**
 * Inserts the reports, then counts what was inserted into the per-patient and per-trial
 * tables. Set-based, so one batch costs three statements whatever its size. A report already
 * present (same event or request id) counts nothing, so applying twice changes nothing.
 */
async function insertReports(tx: Sql, rows: Row[]): Promise<void> {
  if (rows.length === 0) return;
  const col = <K extends keyof Row>(k: K) => rows.map((r) => r[k]);
  const { rows: inserted } = await tx.query<{
    trial_id: string;
    patient_id: string;
    completed_at: Date;
    recorded_at: Date;
  }>(
    `INSERT INTO case_reports (event_id, request_id, trial_id, patient_id, questionnaire_id,
       questionnaire_version, answers, completed_at, recorded_at, stream_seq)
     SELECT e, r, t, p, q, v, a::jsonb, c, rc, s
     FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                 $8::timestamptz[], $9::timestamptz[], $10::bigint[]) AS x(e, r, t, p, q, v, a, c, rc, s)
     ORDER BY e
     ON CONFLICT DO NOTHING
     RETURNING trial_id, patient_id, completed_at, recorded_at`,
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
    ],
  );
  if (inserted.length === 0) return;

  // One row per (trial, patient) and per trial: an upsert may not touch a row twice.
  const perPatient = new Map<string, { trialId: string; patientId: string }>();
  for (const r of inserted) {
    perPatient.set(`${r.trial_id}\u0000${r.patient_id}`, {
      trialId: r.trial_id,
      patientId: r.patient_id,
    });
  }
  const patients = [...perPatient.values()];
  const { rows: newPatients } = await tx.query<{ trial_id: string }>(
    `INSERT INTO trial_patients (trial_id, patient_id)
     SELECT t, p FROM unnest($1::text[], $2::text[]) AS x(t, p) ORDER BY t, p
     ON CONFLICT DO NOTHING
     RETURNING trial_id`,
    [patients.map((p) => p.trialId), patients.map((p) => p.patientId)],
  );

  const perTrial = new Map<
    string,
    { n: number; newPatients: number; first: Date; last: Date; recorded: Date }
  >();
  for (const r of inserted) {
    const t = perTrial.get(r.trial_id) ?? {
      n: 0,
      newPatients: 0,
      first: r.completed_at,
      last: r.completed_at,
      recorded: r.recorded_at,
    };
    t.n++;
    if (r.completed_at < t.first) t.first = r.completed_at;
    if (r.completed_at > t.last) t.last = r.completed_at;
    if (r.recorded_at > t.recorded) t.recorded = r.recorded_at;
    perTrial.set(r.trial_id, t);
  }
  for (const u of newPatients) perTrial.get(u.trial_id)!.newPatients++;
  const trials = [...perTrial.entries()];
  await tx.query(
    `INSERT INTO trial_summaries (trial_id, reports, patients, first_completed_at, last_completed_at, last_recorded_at)
     SELECT * FROM unnest($1::text[], $2::int[], $3::int[], $4::timestamptz[], $5::timestamptz[], $6::timestamptz[])
       AS x(t, n, np, f, l, r) ORDER BY t
     ON CONFLICT (trial_id) DO UPDATE SET
       reports = trial_summaries.reports + EXCLUDED.reports,
       patients = trial_summaries.patients + EXCLUDED.patients,
       first_completed_at = LEAST(trial_summaries.first_completed_at, EXCLUDED.first_completed_at),
       last_completed_at = GREATEST(trial_summaries.last_completed_at, EXCLUDED.last_completed_at),
       last_recorded_at = GREATEST(trial_summaries.last_recorded_at, EXCLUDED.last_recorded_at)`,
    [
      trials.map(([id]) => id),
      trials.map(([, t]) => t.n),
      trials.map(([, t]) => t.newPatients),
      trials.map(([, t]) => t.first.toISOString()),
      trials.map(([, t]) => t.last.toISOString()),
      trials.map(([, t]) => t.recorded.toISOString()),
    ],
  );
}

/** Rows this projection makes of one event: none for events it does not keep. */
function rowsOf(event: CohortEvent, meta: EventMeta): Row[] {
  return match(event)
    .with({ type: 'ReportSubmitted' }, (e) => [row(e, meta)])
    .with({ type: 'ProjectCreated' }, { type: 'ProjectStatusChanged' }, () => [])
    .exhaustive();
}

/** The EDC case-report read model: one row per submitted report, plus per-trial summaries. */
export const caseReports: Projection = {
  consumer: caseReportsConsumer,
  migrations,
  // A report is one per client requestId, even if it reached the stream twice.
  key: (event) =>
    match(event)
      .with({ type: 'ReportSubmitted' }, (e) => `request:${e.data.requestId}`)
      .with({ type: 'ProjectCreated' }, { type: 'ProjectStatusChanged' }, (e) => e.id)
      .exhaustive(),
  apply: (tx, event, meta) => insertReports(tx, rowsOf(event, meta)),
  applyBatch: (tx, items: Envelope[]) =>
    insertReports(
      tx,
      items.flatMap((i) => rowsOf(i.event, i.meta)),
    ),
};
