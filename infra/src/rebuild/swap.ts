import type { Sql, SqlStore } from '../store/sql-store.js';
import { quoted, readModelTables, tablesOf } from './shadow.js';

/** The live projection applied a message the shadow has not: the rebuild reads on first. */
export class ShadowBehind extends Error {
  constructor(
    readonly liveSeq: number,
    readonly shadowSeq: number,
  ) {
    super(`the live projection is at ${liveSeq}, the shadow at ${shadowSeq}`);
  }
}

export interface Swapped {
  tables: string[];
  /** Effects the rebuild queued whose id the live outbox did not have (queued now to be sent). */
  effectsMerged: number;
  /** Inbox rows handed over to live delivery. */
  inboxRows: number;
}

/**
 * Puts the shadow's read model in place of the live one, in one transaction:
 *
 * - the live inbox is locked first (EXCLUSIVE: reads go on, no batch of any consumer commits
 *   until the swap has), the same lock every live batch takes when it inserts its inbox rows,
 *   so no batch is half-way while the tables change under it;
 * - unless every message the live consumer applied (its largest inbox sequence) is at or
 *   before `shadowSeq`, ShadowBehind is thrown and nothing changes;
 * - each read-model table of the live schema is dropped and the shadow's moved in (indexes,
 *   constraints and owned sequences move with it);
 * - the consumer's inbox rows are replaced by the shadow's, so live delivery goes on from the
 *   durable where it is and skips every message the rebuilt tables hold already;
 * - the shadow's outbox rows are merged by id: an effect the live outbox holds (sent or not)
 *   is not queued again; only one never decided before is;
 * - the shadow schema is dropped;
 * - `andThen` runs last, in the same transaction (the rebuild records itself swapped).
 */
export async function swapShadow(
  store: SqlStore,
  consumer: string,
  shadow: string,
  live: string,
  shadowSeq: number,
  andThen: (tx: Sql, swapped: Swapped) => Promise<void> = () => Promise.resolve(),
): Promise<Swapped> {
  return store.transaction(async (tx) => {
    await tx.query('LOCK TABLE cohort_inbox IN EXCLUSIVE MODE');
    const { rows } = await tx.query<{ seq: string | number | null }>(
      'SELECT max(stream_seq) AS seq FROM cohort_inbox WHERE consumer = $1',
      [consumer],
    );
    const liveSeq = Number(rows[0]?.seq ?? 0);
    if (liveSeq > shadowSeq) throw new ShadowBehind(liveSeq, shadowSeq);

    const shadowTables = await tablesOf(tx, shadow);
    const tables = readModelTables(shadowTables);
    const liveTables = new Set(await tablesOf(tx, live));
    for (const t of tables) {
      if (liveTables.has(t)) await tx.exec(`DROP TABLE ${quoted(live)}.${quoted(t)}`);
      await tx.exec(`ALTER TABLE ${quoted(shadow)}.${quoted(t)} SET SCHEMA ${quoted(live)}`);
    }

    await tx.query('DELETE FROM cohort_inbox WHERE consumer = $1', [consumer]);
    const handed = await tx.query(
      `INSERT INTO cohort_inbox (consumer, key, stream_seq, applied_at)
       SELECT consumer, key, stream_seq, applied_at FROM ${quoted(shadow)}.cohort_inbox
       WHERE consumer = $1`,
      [consumer],
    );

    let effectsMerged = 0;
    if (shadowTables.includes('cohort_outbox') && !liveTables.has('cohort_outbox')) {
      // No live outbox yet: the shadow's becomes it, every effect in it to be carried out.
      const { rows: all } = await tx.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${quoted(shadow)}.cohort_outbox`,
      );
      effectsMerged = all[0]!.n;
      await tx.exec(`ALTER TABLE ${quoted(shadow)}.cohort_outbox SET SCHEMA ${quoted(live)}`);
    } else if (shadowTables.includes('cohort_outbox')) {
      const merged = await tx.query(
        `INSERT INTO cohort_outbox (id, kind, payload, queued_at)
         SELECT id, kind, payload, queued_at FROM ${quoted(shadow)}.cohort_outbox ORDER BY id
         ON CONFLICT (id) DO NOTHING`,
      );
      effectsMerged = merged.rowCount;
    }
    await tx.exec(`DROP SCHEMA ${quoted(shadow)} CASCADE`);
    const swapped = { tables, effectsMerged, inboxRows: handed.rowCount };
    await andThen(tx, swapped);
    return swapped;
  });
}
