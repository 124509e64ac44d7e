import type { Logger } from '../logger.js';
import { sqlState } from '../store/database-errors.js';
import type { Migration, Sql, SqlStore } from '../store/sql-store.js';

/**
 * The outbox table, for a projection to list among its migrations at the version it chooses
 * (created if absent, so any number of projections may). Its rows are effects decided while
 * applying events: carried out by the relay once the transaction that queued them has
 * committed, never lost, each once by id.
 */
export const outboxMigration = (version: number): Migration => ({
  version,
  name: 'outbox',
  sql: `CREATE TABLE IF NOT EXISTS cohort_outbox (
    id text COLLATE "C" PRIMARY KEY,
    kind text NOT NULL,
    payload jsonb NOT NULL,
    queued_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    sent_at timestamptz,
    -- Not taken again before this: the lease of the relay that took it, or a failure's wait.
    not_before timestamptz,
    attempts integer NOT NULL DEFAULT 0,
    last_error text
  );
  CREATE INDEX IF NOT EXISTS cohort_outbox_unsent ON cohort_outbox (queued_at) WHERE sent_at IS NULL`,
});

/** One effect to carry out: `id` makes it once-only (queued again, it is not added). */
export interface OutboxItem {
  id: string;
  kind: string;
  payload: unknown;
}

/** Queues effects in the caller's transaction: they exist exactly when its work commits. */
export async function enqueue(tx: Sql, items: OutboxItem[]): Promise<void> {
  if (items.length === 0) return;
  await tx.query(
    `INSERT INTO cohort_outbox (id, kind, payload)
     SELECT * FROM unnest($1::text[], $2::text[], $3::jsonb[]) ORDER BY 1
     ON CONFLICT (id) DO NOTHING`,
    [items.map((i) => i.id), items.map((i) => i.kind), items.map((i) => JSON.stringify(i.payload))],
  );
}

/** How often the relay looks for new effects; a queued effect waits at most this long. */
export const OUTBOX_POLL_MS = 250;
/** Effects carried out per transaction. */
export const OUTBOX_BATCH = 100;
/** A failing effect is tried again after this long, as often as it takes. */
export const OUTBOX_RETRY_MS = 2_000;
/** How long a relay holds what it took; after a crash, another takes it up after this. */
export const OUTBOX_LEASE_MS = 30_000;
const UNDEFINED_TABLE = '42P01';

export interface OutboxRelay {
  /** Carries out what is queued now; resolves with how many effects were done. For tests. */
  drain(): Promise<number>;
  /** Stops after the batch in hand. */
  stop(): Promise<void>;
}

/**
 * Carries out queued effects, oldest first, with `handle`, and marks each done once `handle`
 * resolves. Contract: `handle` must be idempotent by the item's id, because an effect done just
 * before a crash is done again (by any instance, once the lease has run out); a failure leaves
 * the item queued for a retry after OUTBOX_RETRY_MS, and the others go on. Instances share the
 * work through leases.
 */
export function startOutboxRelay(opts: {
  store: SqlStore;
  handle: (item: OutboxItem) => Promise<void>;
  log: Logger;
  pollMs?: number;
}): OutboxRelay {
  let stopping = false;
  let wake: (() => void) | undefined;
  const drainOnce = async () => {
    // Taken with a lease, in a short statement: the effects run outside any transaction, so
    // the database (PGlite is one connection) is not held while they wait on NATS.
    const { rows } = await opts.store.query<{ id: string; kind: string; payload: unknown }>(
      `UPDATE cohort_outbox SET not_before = clock_timestamp() + $1 * interval '1 millisecond'
       WHERE id IN (
         SELECT id FROM cohort_outbox
         WHERE sent_at IS NULL AND (not_before IS NULL OR not_before <= clock_timestamp())
         ORDER BY queued_at LIMIT $2 FOR UPDATE SKIP LOCKED)
       RETURNING id, kind, payload`,
      [OUTBOX_LEASE_MS, OUTBOX_BATCH],
    );
    let done = 0;
    for (const item of rows) {
      try {
        await opts.handle(item);
        await opts.store.query(
          'UPDATE cohort_outbox SET sent_at = clock_timestamp() WHERE id = $1',
          [item.id],
        );
        done++;
      } catch (e) {
        opts.log.warn({ err: e, id: item.id, kind: item.kind }, 'outbox effect failed; will retry');
        await opts.store.query(
          `UPDATE cohort_outbox SET attempts = attempts + 1, last_error = $2,
             not_before = clock_timestamp() + $3 * interval '1 millisecond' WHERE id = $1`,
          [item.id, e instanceof Error ? e.message.slice(0, 1000) : String(e), OUTBOX_RETRY_MS],
        );
      }
    }
    return { done, more: rows.length === OUTBOX_BATCH };
  };
  const drain = async () => {
    let total = 0;
    for (;;) {
      const { done, more } = await drainOnce();
      total += done;
      if (!more) return total;
    }
  };
  const loop = (async () => {
    while (!stopping) {
      try {
        await drain();
      } catch (e) {
        // Before the projection that owns the table has migrated, there is nothing to relay.
        if (sqlState(e) !== UNDEFINED_TABLE) opts.log.warn({ err: e }, 'outbox relay failed');
      }
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, opts.pollMs ?? OUTBOX_POLL_MS).unref();
      });
    }
  })();
  return {
    drain,
    stop: async () => {
      stopping = true;
      wake?.();
      await loop;
    },
  };
}
