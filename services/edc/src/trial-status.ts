import { parseProjectsEvent } from '@cohort/contracts';
import type { ProjectsEvent } from '@cohort/contracts';
import { SERVICES } from '@cohort/infra';
import type { EventMeta, Projection, Sql } from '@cohort/infra';
import { match } from 'ts-pattern';

/** The durable consumer of trial statuses in EDC (declared in SERVICES). Never rename it. */
export const TRIAL_STATUS_CONSUMER = SERVICES.edc.durables.trialStatus.name;

/**
 * Each trial's status as EDC sees it, from PROJECTS: when it closed (reports recorded after that
 * are late) and whether it is locked (its data is final).
 */
export const trialStatus: Projection<ProjectsEvent> = {
  consumer: SERVICES.edc.durables.trialStatus,
  parse: parseProjectsEvent,
  migrations: [
    {
      version: 1,
      name: 'trial status',
      sql: `CREATE TABLE trial_status (
        trial_id text PRIMARY KEY,
        status text NOT NULL,
        closed_at timestamptz,
        locked_at timestamptz,
        -- Stream sequence of the last event applied: an older one arriving late changes nothing.
        last_seq bigint NOT NULL
      )`,
    },
  ],
  apply: (tx: Sql, event: ProjectsEvent, meta: EventMeta) =>
    match(event)
      .with({ type: 'ProjectCreated' }, async (e) => {
        await tx.query(
          `INSERT INTO trial_status (trial_id, status, last_seq) VALUES ($1, $2, $3)
           ON CONFLICT (trial_id) DO NOTHING`,
          [e.data.projectId, e.data.status, meta.seq],
        );
      })
      .with({ type: 'ProjectStatusChanged' }, async (e) => {
        const closedAt = e.data.to === 'closed' ? e.data.effectiveAt : null;
        const lockedAt = e.data.to === 'locked' ? e.data.effectiveAt : null;
        await tx.query(
          `INSERT INTO trial_status (trial_id, status, closed_at, locked_at, last_seq)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (trial_id) DO UPDATE SET
             status = CASE WHEN trial_status.last_seq < EXCLUDED.last_seq THEN EXCLUDED.status ELSE trial_status.status END,
             closed_at = COALESCE(EXCLUDED.closed_at, trial_status.closed_at),
             locked_at = COALESCE(EXCLUDED.locked_at, trial_status.locked_at),
             last_seq = GREATEST(trial_status.last_seq, EXCLUDED.last_seq)`,
          [e.data.projectId, e.data.to, closedAt, lockedAt, meta.seq],
        );
      })
      // A trial's protocol and its enrolments leave its status as it is.
      .otherwise(() => Promise.resolve()),
};
