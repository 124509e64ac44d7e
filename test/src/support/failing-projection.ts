import type { CohortEvent } from '@cohort/contracts';
import type { Projection, Sql } from '@cohort/infra';

/**
 * A projection of a trial's reports that fails for the patients in `broken`, as a projection
 * missing a mapping would: each such report is delivered `maxDeliver` (2) times and becomes a
 * dead letter. Take a patient out of `broken` and a redrive applies it.
 */
export function failingProjection(
  name: string,
  trialId: string,
  broken: ReadonlySet<string>,
): Projection {
  return {
    consumer: { stream: 'REPORTS', name, filterSubject: `reports.${trialId}.*`, maxDeliver: 2 },
    migrations: [{ version: 1, name: 't', sql: 'CREATE TABLE applied (patient_id text)' }],
    key: (e: CohortEvent) => (e.type === 'ReportSubmitted' ? e.data.requestId : e.id),
    async apply(tx, e) {
      if (e.type !== 'ReportSubmitted') return;
      if (broken.has(e.data.patientId)) throw new Error(`no mapping for ${e.data.patientId}`);
      await tx.query('INSERT INTO applied VALUES ($1)', [e.data.patientId]);
    },
  };
}

/** How many of the patient's reports the failing projection applied. */
export async function appliedFor(db: Pick<Sql, 'query'>, patientId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM applied WHERE patient_id = $1',
    [patientId],
  );
  return rows[0]!.n;
}
