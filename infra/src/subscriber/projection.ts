import type { CohortEvent } from '@cohort/contracts';
import type { Migration, Sql } from '../store/sql-store.js';
import type { ConsumerSpec } from './consumer.js';

/** Where a message came from and how often it has been delivered. */
export interface EventMeta {
  stream: string;
  /** Stream sequence: a total order within the stream. */
  seq: number;
  subject: string;
  /** 1 on first delivery. */
  deliveries: number;
}

export interface Envelope<E = CohortEvent> {
  event: E;
  meta: EventMeta;
}

/**
 * A read model fed by one durable consumer.
 *
 * Contract: `apply` (and `applyBatch`, when given) runs inside the runtime's transaction, together
 * with the inbox row of each message; a throw rolls back that message's work only. Every event of
 * the stream (after the filter) arrives, of every type; ignore the ones you do not need. Order is
 * the stream's within one batch; across instances and redeliveries it is not guaranteed, so
 * decide by stream sequence or event time where order matters.
 */
export interface Projection {
  /** The durable consumer (its name is `<service>-<projection>`, never renamed). */
  consumer: ConsumerSpec;
  /** Tables of this projection, versioned in the namespace of the consumer name. */
  migrations: Migration[];
  /** The idempotency key: a second message with the same key is skipped. Default: the event id. */
  key?(event: CohortEvent): string;
  apply(tx: Sql, event: CohortEvent, meta: EventMeta): Promise<void>;
  /** Optional set-based form of `apply` for whole batches; must have the same effect. */
  applyBatch?(tx: Sql, items: Envelope[]): Promise<void>;
}
