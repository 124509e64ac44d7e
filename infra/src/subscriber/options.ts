import { z } from 'zod';
import { envInt, envIntList, loadConfig } from '../config.js';
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
 * Subscriber settings: `SUBSCRIBER_BATCH_SIZE`, `SUBSCRIBER_LINGER_MS`, `SUBSCRIBER_MAX_DELIVER`,
 * `SUBSCRIBER_ACK_WAIT_MS`, `SUBSCRIBER_MAX_ACK_PENDING`, `SUBSCRIBER_BACKOFF_MS`
 * (comma-separated milliseconds), `SUBSCRIBER_CONCURRENCY`.
 */
export const SubscriberEnv = z.object({
  SUBSCRIBER_BATCH_SIZE: envInt(1, 10_000),
  SUBSCRIBER_LINGER_MS: envInt(0, 60_000),
  SUBSCRIBER_MAX_DELIVER: envInt(1),
  SUBSCRIBER_ACK_WAIT_MS: envInt(1_000),
  SUBSCRIBER_MAX_ACK_PENDING: envInt(1),
  SUBSCRIBER_BACKOFF_MS: envIntList(0),
  SUBSCRIBER_CONCURRENCY: envInt(1, 16),
});
export type SubscriberEnv = z.infer<typeof SubscriberEnv>;

/** What the subscriber settings mean for the durables and for the runtime. */
export function subscriberSettings(config: SubscriberEnv): {
  consumer: Partial<Pick<ConsumerSpec, 'maxDeliver' | 'ackWaitMs' | 'maxAckPending'>>;
  runtime: SubscriberOptions;
} {
  const defined = <T extends object>(o: T) =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  return {
    consumer: defined({
      maxDeliver: config.SUBSCRIBER_MAX_DELIVER,
      ackWaitMs: config.SUBSCRIBER_ACK_WAIT_MS,
      maxAckPending: config.SUBSCRIBER_MAX_ACK_PENDING,
    }),
    runtime: defined({
      batchSize: config.SUBSCRIBER_BATCH_SIZE,
      lingerMs: config.SUBSCRIBER_LINGER_MS,
      concurrency: config.SUBSCRIBER_CONCURRENCY,
      backoffMs: config.SUBSCRIBER_BACKOFF_MS,
    }),
  };
}

/** `subscriberSettings` read straight from the environment. */
export function subscriberOptionsFromEnv(env: NodeJS.ProcessEnv = process.env) {
  return subscriberSettings(loadConfig(SubscriberEnv, env));
}
