import type { ConsumerSpec } from './consumer.js';

export interface SubscriberOptions {
  /** Most messages per transaction. */
  batchSize?: number;
  /** How long a partial batch waits for more messages before it is applied. */
  lingerMs?: number;
  /** Delays before redelivering a failed message, by delivery count; the last one repeats. */
  backoffMs?: number[];
  /**
   * Batches handed to the database at once (default 2): the next one is waiting when the last
   * commits, and the database works on another core (a PostgreSQL server, or PGlite's worker
   * thread) while this process acks, receives and parses. Batches may then commit out of order
   * (on PostgreSQL, and on PGlite when a batch's retry queues behind the next batch):
   * projections decide by key, sequence or time, never by arrival.
   */
  concurrency?: number;
  /** Test-only fault injection: called after each commit, before the acks. */
  afterCommit?: (batch: number) => void;
}

/** Growing delays ride out a database restart without hammering it. */
export const DEFAULT_BACKOFF_MS = [1_000, 2_000, 5_000, 10_000, 30_000, 60_000];
/** A batch waits this long to fill: imperceptible to a reader, large enough to batch a burst. */
export const DEFAULT_LINGER_MS = 20;
/** Batches in the database at once: one committing while the next is ready. */
export const DEFAULT_CONCURRENCY = 2;

/**
 * Subscriber settings from the environment: `SUBSCRIBER_BATCH_SIZE`, `SUBSCRIBER_LINGER_MS`,
 * `SUBSCRIBER_MAX_DELIVER`, `SUBSCRIBER_ACK_WAIT_MS`, `SUBSCRIBER_MAX_ACK_PENDING`,
 * `SUBSCRIBER_BACKOFF_MS` (comma-separated), `SUBSCRIBER_CONCURRENCY`.
 */
export function subscriberOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): {
  consumer: Partial<Pick<ConsumerSpec, 'maxDeliver' | 'ackWaitMs' | 'maxAckPending'>>;
  runtime: SubscriberOptions;
} {
  const int = (k: string) => {
    const v = env[k];
    if (v === undefined || v === '') return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0)
      throw new Error(`${k} must be a whole number, got ${JSON.stringify(v)}`);
    return n;
  };
  const defined = <T extends object>(o: T) =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  const backoff = env.SUBSCRIBER_BACKOFF_MS?.split(',').map((x) => Number(x.trim()));
  if (backoff?.some((n) => !Number.isFinite(n) || n < 0)) {
    throw new Error('SUBSCRIBER_BACKOFF_MS must be comma-separated milliseconds');
  }
  return {
    consumer: defined({
      maxDeliver: int('SUBSCRIBER_MAX_DELIVER'),
      ackWaitMs: int('SUBSCRIBER_ACK_WAIT_MS'),
      maxAckPending: int('SUBSCRIBER_MAX_ACK_PENDING'),
    }),
    runtime: defined({
      batchSize: int('SUBSCRIBER_BATCH_SIZE'),
      lingerMs: int('SUBSCRIBER_LINGER_MS'),
      concurrency: int('SUBSCRIBER_CONCURRENCY'),
      backoffMs: backoff,
    }),
  };
}
