import { parseProjectsEvent, parseReportsEvent } from '@cohort/contracts';
import type { ProjectsEvent, ReportsEvent } from '@cohort/contracts';
import { SERVICES } from '@cohort/infra';
import type { Envelope, EventMeta, Projection, Sql } from '@cohort/infra';
import { match } from 'ts-pattern';

/** The durables of this service, declared in SERVICES; their names are never changed. */
const DURABLES = SERVICES['project-management'].durables;
export const PORTFOLIO_CONSUMER = DURABLES.portfolio.name;
export const REPORT_COUNTS_CONSUMER = DURABLES.reportCounts.name;

/** Every project with its current status, and every enrolled patient, kept from PROJECTS. */
export const portfolio: Projection<ProjectsEvent> = {
  consumer: DURABLES.portfolio,
  parse: parseProjectsEvent,
  migrations: [
    {
      version: 1,
      name: 'projects',
      sql: `CREATE TABLE projects (
        project_id text PRIMARY KEY,
        name text NOT NULL,
        status text NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        -- Stream sequence of the last event applied: an older one arriving late changes nothing.
        last_seq bigint NOT NULL
      )`,
    },
    {
      version: 2,
      name: 'enrolments',
      sql: `CREATE TABLE enrolments (
        trial_id text NOT NULL,
        patient_id text NOT NULL,
        site_id text NOT NULL,
        enrolled_at timestamptz NOT NULL,
        PRIMARY KEY (trial_id, patient_id)
      )`,
    },
  ],
  apply: (tx: Sql, event: ProjectsEvent, meta: EventMeta) =>
    match(event)
      // Batches may commit out of order (two in flight, several instances, a redrive): a
      // status change may arrive before its project's creation. Each event upserts the row,
      // and only a later stream sequence moves the status.
      .with({ type: 'ProjectCreated' }, async (e) => {
        await tx.query(
          `INSERT INTO projects (project_id, name, status, created_at, updated_at, last_seq)
           VALUES ($1, $2, $3, $4, $4, $5)
           ON CONFLICT (project_id) DO UPDATE SET
             name = EXCLUDED.name,
             created_at = EXCLUDED.created_at`,
          [e.data.projectId, e.data.name, e.data.status, e.recordedAt, meta.seq],
        );
      })
      .with({ type: 'ProjectStatusChanged' }, async (e) => {
        // Before its creation arrives, the row has no name yet ('').
        await tx.query(
          `INSERT INTO projects (project_id, name, status, created_at, updated_at, last_seq)
           VALUES ($1, '', $2, $3, $3, $4)
           ON CONFLICT (project_id) DO UPDATE SET
             status = EXCLUDED.status, updated_at = EXCLUDED.updated_at, last_seq = EXCLUDED.last_seq
           WHERE projects.last_seq < EXCLUDED.last_seq`,
          [e.data.projectId, e.data.to, e.recordedAt, meta.seq],
        );
      })
      // An enrolment happens once per patient: a copy changes nothing.
      .with({ type: 'PatientEnrolled' }, async (e) => {
        await tx.query(
          `INSERT INTO enrolments (trial_id, patient_id, site_id, enrolled_at)
           VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
          [e.data.trialId, e.data.patientId, e.data.siteId, e.data.enrolledAt],
        );
      })
      // A trial's protocol leaves the portfolio as it is.
      .otherwise(() => Promise.resolve()),
};

/** Reports per trial, kept from REPORTS (each report once: the runtime's inbox keys on requestId). */
export const reportCounts: Projection<ReportsEvent> = {
  consumer: DURABLES.reportCounts,
  parse: parseReportsEvent,
  migrations: [
    {
      version: 1,
      name: 'report counts',
      sql: 'CREATE TABLE report_counts (trial_id text PRIMARY KEY, reports integer NOT NULL)',
    },
  ],
  key: (e) => `request:${e.data.requestId}`,
  apply: (tx, event, meta) => countReports(tx, [{ event, meta }]),
  applyBatch: countReports,
};

async function countReports(tx: Sql, items: Envelope<ReportsEvent>[]): Promise<void> {
  const perTrial = new Map<string, number>();
  for (const { event } of items)
    perTrial.set(event.data.trialId, (perTrial.get(event.data.trialId) ?? 0) + 1);
  if (perTrial.size === 0) return;
  await tx.query(
    `INSERT INTO report_counts (trial_id, reports)
     SELECT * FROM unnest($1::text[], $2::int[]) AS x(t, n) ORDER BY t
     ON CONFLICT (trial_id) DO UPDATE SET reports = report_counts.reports + EXCLUDED.reports`,
    [[...perTrial.keys()], [...perTrial.values()]],
  );
}

export interface PortfolioItem {
  projectId: string;
  name: string;
  status: string;
  reports: number;
  updatedAt: string;
}

export async function listPortfolio(db: Sql): Promise<PortfolioItem[]> {
  const { rows } = await db.query<{
    project_id: string;
    name: string;
    status: string;
    reports: number;
    updated_at: Date;
  }>(
    `SELECT p.project_id, p.name, p.status, p.updated_at, COALESCE(r.reports, 0) AS reports
     FROM projects p LEFT JOIN report_counts r ON r.trial_id = p.project_id ORDER BY p.project_id`,
  );
  return rows.map((r) => ({
    projectId: r.project_id,
    name: r.name,
    status: r.status,
    reports: Number(r.reports),
    updatedAt: new Date(r.updated_at).toISOString(),
  }));
}

export interface EnrolmentItem {
  trialId: string;
  patientId: string;
  siteId: string;
  enrolledAt: string;
}

/** A trial's enrolled patients, by patient id. */
export async function listEnrolments(db: Sql, trialId: string): Promise<EnrolmentItem[]> {
  const { rows } = await db.query<{
    patient_id: string;
    site_id: string;
    enrolled_at: Date | string;
  }>(
    `SELECT patient_id, site_id, enrolled_at FROM enrolments WHERE trial_id = $1
     ORDER BY patient_id`,
    [trialId],
  );
  return rows.map((r) => ({
    trialId,
    patientId: r.patient_id,
    siteId: r.site_id,
    enrolledAt: new Date(r.enrolled_at).toISOString(),
  }));
}
