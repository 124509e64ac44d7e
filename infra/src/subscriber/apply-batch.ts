import { isDatabaseUnavailable } from '../store/database-errors.js';
import type { Sql, SqlStore } from '../store/sql-store.js';
import { classifyFailure, type FailureClass } from './errors.js';
import { errorText } from './failures.js';
import { AlreadyApplied, claimAll, claimNew, firstOfEachKey, type Keyed } from './inbox.js';
import type { Envelope, Projection } from './projection.js';

/** A message ready to apply: its parsed event, where it came from, and its idempotency key. */
export type BatchItem = Envelope & Keyed;

/** What became of each message of a batch. */
export interface Outcome<I> {
  applied: I[];
  skipped: I[];
  /**
   * Each failing message, its error, and what it needs (see FailureClass). When the database
   * could not be reached, every message of the batch fails as `unavailable`.
   */
  failed: { item: I; error: string; kind: FailureClass }[];
}

/**
 * Applies a batch to `projection` with an inbox row per idempotency key, in one transaction.
 * No NATS here: the caller acks what is applied or skipped and retries what failed.
 *
 * Almost every batch is new: its inbox rows are inserted outright, which fails on a key already
 * applied (a redelivery, a second copy). Then once more with the keys checked one by one. If the
 * projection fails, the batch is applied once more with a savepoint per message to isolate the
 * failing one. The inbox's own conflicts are never a message's failure.
 */
export async function applyBatch<I extends BatchItem>(
  store: SqlStore,
  projection: Projection,
  consumer: string,
  items: I[],
): Promise<Outcome<I>> {
  const unique = firstOfEachKey(items);
  const done = (applied: I[]): Outcome<I> => {
    // The common case, a batch of new keys, has nothing to skip.
    if (applied.length === items.length) return { applied, skipped: [], failed: [] };
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

/** Every message of the batch failed alike. */
function allFailed<I>(items: I[], e: unknown, kind: FailureClass): Outcome<I> {
  const error = errorText(e);
  return { applied: [], skipped: [], failed: items.map((item) => ({ item, error, kind })) };
}

/** Applies a batch that failed as a whole again, one savepoint per message. */
async function isolate<I extends BatchItem>(
  store: SqlStore,
  projection: Projection,
  consumer: string,
  items: I[],
  batchError: unknown,
): Promise<Outcome<I>> {
  // A database out of reach fails every message alike: there is nothing to isolate.
  if (isDatabaseUnavailable(batchError)) return allFailed(items, batchError, 'unavailable');
  if (items.length === 1) return allFailed(items, batchError, classifyFailure(batchError));
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
          outcome.failed.push({ item, error: errorText(e), kind: classifyFailure(e) });
        }
      }
    });
  } catch (e) {
    // The database itself failed (not one message): every message is retried.
    return allFailed(items, e, isDatabaseUnavailable(e) ? 'unavailable' : 'transient');
  }
  return outcome;
}
