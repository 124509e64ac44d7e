import type { Migration, Sql } from '../store/sql-store.js';

/** The runtime's own tables: one inbox row per applied idempotency key, per consumer. */
export const INBOX_MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'inbox',
    sql: `CREATE TABLE cohort_inbox (
      consumer text NOT NULL,
      key text NOT NULL,
      stream_seq bigint NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (consumer, key)
    )`,
  },
  {
    version: 2,
    // Keys are identifiers, not words: byte order compares them much faster than a locale.
    name: 'inbox keys in byte order',
    sql: `ALTER TABLE cohort_inbox
      ALTER COLUMN consumer TYPE text COLLATE "C",
      ALTER COLUMN key TYPE text COLLATE "C"`,
  },
];

/** What the inbox needs of a message: its idempotency key and its stream sequence. */
export interface Keyed {
  key: string;
  meta: { seq: number };
}

/** PostgreSQL's SQLSTATE for a duplicate key (PGlite's errors carry it too). */
export const UNIQUE_VIOLATION = '23505';

/** A batch's inbox insert found a key applied before. */
export class AlreadyApplied extends Error {
  constructor(cause: unknown) {
    super('an idempotency key of the batch is already in the inbox', { cause });
  }
}

/**
 * Inserts an inbox row per key (keys unique within the call) for `consumer`, failing if any key
 * is there already. Rows go in key order, so concurrent batches cannot deadlock.
 */
export async function insertInbox(
  tx: Sql,
  consumer: string,
  keys: string[],
  seqs: number[],
): Promise<void> {
  await tx.query(
    `INSERT INTO cohort_inbox (consumer, key, stream_seq)
     SELECT $1, k, s FROM unnest($2::text[], $3::bigint[]) AS t(k, s) ORDER BY k`,
    [consumer, keys, seqs],
  );
}

/** Claims every item's key (unique within the batch), throwing AlreadyApplied if any was applied. */
export async function claimAll(tx: Sql, consumer: string, unique: Keyed[]): Promise<void> {
  if (unique.length === 0) return;
  await insertInbox(
    tx,
    consumer,
    unique.map((i) => i.key),
    unique.map((i) => i.meta.seq),
  ).catch((e: unknown) => {
    // Only a key already there sends the batch to the key-by-key claim; any other failure
    // goes straight to isolation, like a failing projection.
    throw (e as { code?: string }).code === UNIQUE_VIOLATION ? new AlreadyApplied(e) : e;
  });
}

/** Inserts the inbox rows of keys not yet applied; returns their items. */
export async function claimNew<I extends Keyed>(
  tx: Sql,
  consumer: string,
  unique: I[],
): Promise<I[]> {
  if (unique.length === 0) return [];
  const { rows } = await tx.query<{ key: string }>(
    `INSERT INTO cohort_inbox (consumer, key, stream_seq)
     SELECT $1, k, s FROM unnest($2::text[], $3::bigint[]) AS t(k, s) ORDER BY k
     ON CONFLICT DO NOTHING RETURNING key`,
    [consumer, unique.map((i) => i.key), unique.map((i) => i.meta.seq)],
  );
  const inserted = new Set(rows.map((r) => r.key));
  return unique.filter((i) => inserted.has(i.key));
}

/** The first item of each idempotency key, in batch order: later copies are skipped. */
export function firstOfEachKey<I extends Keyed>(items: I[]): I[] {
  const first = new Map<string, I>();
  for (const i of items) if (!first.has(i.key)) first.set(i.key, i);
  return [...first.values()];
}
