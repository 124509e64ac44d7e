import type { Sql, SqlStore } from '../store/sql-store.js';
import { errorText } from './failures.js';
import { AlreadyApplied, claimAll, claimNew, firstOfEachKey, type Keyed } from './inbox.js';
import type { Envelope, Projection } from './projection.js';

/** A message ready to apply: its parsed event, where it came from, and its idempotency key. */
export type BatchItem = Envelope & Keyed;

/** What became of each message of a batch. */
export interface Outcome<I> {
  applied: I[];
  skipped: I[];
  failed: { item: I; error: string }[];
}

/**
 * Applies a batch to `projection` with an inbox row per idempotency key, in one transaction.
 * No NATS here: the caller acks what is applied or skipped and retries what failed.
 *
 * Almost every batch is new: its inbox rows are inserted outright, which fails on a key already
 * applied (a redelivery, a second copy). Then once more with the keys checked one by one. If the
 * projection fails, the batch is applied once more with a savepoint per message to isolate the
 * failing one.
 */
export async function applyBatch<I extends BatchItem>(
  store: SqlStore,
  projection: Projection,
  consumer: string,
  items: I[],
): Promise<Outcome<I>> {
  const unique = firstOfEachKey(items);
  const done = (applied: I[]): Outcome<I> => {
    const set = new Set(applied);
    return { applied, skipped: items.filter((i) => !set.has(i)), failed: [] };
  };
  try {
    return done(
      await store.transaction(async (tx) => {
        // Not awaited: the projection's statements queue behind the inbox insert, and fail
        // with it, so the whole batch costs the database one wait fewer.
        const claimed = claimAll(tx, consumer, unique);
        claimed.catch(() => undefined);
        try {
          await applyFresh(tx, projection, unique);
        } finally {
          await claimed; // the inbox's failure, if any, is the reason to report
        }
        return unique;
      }),
    );
  } catch (e) {
    if (!(e instanceof AlreadyApplied)) return isolate(store, projection, consumer, items, e);
  }
  try {
    return done(
      await store.transaction(async (tx) => {
        const fresh = await claimNew(tx, consumer, unique);
        await applyFresh(tx, projection, fresh);
        return fresh;
      }),
    );
  } catch (e) {
    return isolate(store, projection, consumer, items, e);
  }
}

async function applyFresh(tx: Sql, projection: Projection, fresh: BatchItem[]): Promise<void> {
  if (projection.applyBatch) await projection.applyBatch(tx, fresh);
  else for (const i of fresh) await projection.apply(tx, i.event, i.meta);
}

/** Applies a batch that failed as a whole again, one savepoint per message. */
async function isolate<I extends BatchItem>(
  store: SqlStore,
  projection: Projection,
  consumer: string,
  items: I[],
  batchError: unknown,
): Promise<Outcome<I>> {
  if (items.length === 1)
    return {
      applied: [],
      skipped: [],
      failed: [{ item: items[0]!, error: errorText(batchError) }],
    };
  const outcome: Outcome<I> = { applied: [], skipped: [], failed: [] };
  try {
    await store.transaction(async (tx) => {
      for (const item of items) {
        await tx.query('SAVEPOINT cohort_item');
        try {
          const fresh = await claimNew(tx, consumer, [item]);
          if (fresh.length === 0) outcome.skipped.push(item);
          else {
            await projection.apply(tx, item.event, item.meta);
            outcome.applied.push(item);
          }
          await tx.query('RELEASE SAVEPOINT cohort_item');
        } catch (e) {
          await tx.query('ROLLBACK TO SAVEPOINT cohort_item');
          outcome.failed.push({ item, error: errorText(e) });
        }
      }
    });
  } catch (e) {
    // The database itself failed (not one message): every message is retried.
    const error = errorText(e);
    return { applied: [], skipped: [], failed: items.map((item) => ({ item, error })) };
  }
  return outcome;
}
