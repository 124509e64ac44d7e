// bench:projection's baselines without NATS: the EDC table's own upsert, and the subscriber's
// statements alone (inbox rows and the projection's batch statement).
import { type ReportsEvent } from '@cohort/contracts';
import { caseReports, migrations as edcMigrations } from '@cohort/edc/case-reports';
import { type Envelope, type Sql } from '@cohort/infra';
import { INBOX_MIGRATIONS, insertInbox } from '@cohort/infra/testing';
import { events, type Report } from './backlog.js';
import type { Kind } from './databases.js';
import { cpuPerMessage, cpuSample, type CpuSplit } from './proc-stats.js';

/** Rows per transaction in the raw upsert, the same as the subscriber's default batch. */
export const ROWS_PER_TX = 500;

/** One transaction's work on a chunk of reports whose stream sequences start at `seq`. */
type Write = (tx: Sql, chunk: Report[], seq: number) => Promise<unknown>;

/**
 * Raw upsert: the EDC table's own INSERT … ON CONFLICT, nothing more. With `plain`, the same rows
 * without ON CONFLICT (as the projection inserts, its inbox having skipped what was applied
 * before).
 */
export const rawWrite =
  (plain: boolean): Write =>
  (tx, chunk, seq) => {
    const col = (f: (e: Report) => unknown) => chunk.map(f);
    return tx.query(
      `INSERT INTO case_reports (event_id, request_id, trial_id, patient_id, questionnaire_id,
         questionnaire_version, answers, completed_at, recorded_at, stream_seq, site_id,
         platform, app_version)
       SELECT e, r, t, p, q, v, a::jsonb, c, rc, s, site, pf, av
       FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                   $8::timestamptz[], $9::timestamptz[], $10::bigint[], $11::text[], $12::text[],
                   $13::text[]) AS x(e, r, t, p, q, v, a, c, rc, s, site, pf, av)
       ${plain ? '' : 'ON CONFLICT DO NOTHING'}`,
      [
        col((e) => e.id),
        col((e) => e.data.requestId),
        col((e) => e.data.trialId),
        col((e) => e.data.patientId),
        col((e) => e.data.questionnaire.id),
        col((e) => e.data.questionnaire.version),
        col((e) => JSON.stringify(e.data.answers)),
        col((e) => e.data.completedAt),
        col((e) => e.recordedAt),
        chunk.map((_, j) => seq + j),
        col((e) => e.data.siteId),
        col((e) => e.data.device?.platform ?? null),
        col((e) => e.data.device?.appVersion ?? null),
      ],
    );
  };

/**
 * The subscriber's database work alone, without NATS: the inbox rows and the EDC projection's
 * batch statement, as one transaction per chunk. The drain cannot go faster than this.
 */
export const subscriberWrite: Write = async (tx, chunk, seq) => {
  const items: Envelope<ReportsEvent>[] = chunk.map((event, j) => ({
    event,
    meta: { stream: 'REPORTS', seq: seq + j, subject: 'bench', deliveries: 1 },
  }));
  const claimed = insertInbox(
    tx,
    caseReports.consumer.name,
    items.map((i) => caseReports.key!(i.event)),
    items.map((i) => i.meta.seq),
  );
  await Promise.all([claimed, caseReports.applyBatch!(tx, items)]);
};

/** Writes `n` reports, ROWS_PER_TX per transaction, through the same store the service uses. */
export async function rawWrites(
  kind: Kind,
  n: number,
  write: Write,
): Promise<{ rate: number; cpu: CpuSplit }> {
  const store = await kind.open();
  await store.migrate('cohort', INBOX_MIGRATIONS);
  await store.migrate('bench', edcMigrations);
  const all = events(n);
  const cpu0 = await cpuSample(kind.name === 'PostgreSQL', process.pid);
  const start = performance.now();
  for (let i = 0; i < n; i += ROWS_PER_TX) {
    const chunk = all.slice(i, i + ROWS_PER_TX);
    await store.transaction((tx) => write(tx, chunk, i + 1));
  }
  const rate = n / ((performance.now() - start) / 1000);
  const cpu = cpuPerMessage(cpu0, await cpuSample(kind.name === 'PostgreSQL', process.pid), n);
  await store.close();
  return { rate, cpu };
}
