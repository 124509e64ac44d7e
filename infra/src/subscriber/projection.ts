import { parseEvent, Streams, type CohortEvent, type EventParser } from '@cohort/contracts';
import type { Migration, Sql } from '../store/sql-store.js';
import { STREAM_PARSERS } from '../stream-events.js';
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

interface ProjectionOf<E extends CohortEvent> {
  /** The durable consumer (its name is `<service>-<projection>`, never renamed). */
  consumer: ConsumerSpec;
  /** Tables of this projection, versioned in the namespace of the consumer name. */
  migrations: Migration[];
  /** The idempotency key: a second message with the same key is skipped. Default: the event id. */
  key?(event: E): string;
  apply(tx: Sql, event: E, meta: EventMeta): Promise<void>;
  /** Optional set-based form of `apply` for whole batches; must have the same effect. */
  applyBatch?(tx: Sql, items: Envelope<E>[]): Promise<void>;
}

/**
 * A read model fed by one durable consumer, typed by the events of the stream it reads
 * (`Projection<ReportsEvent>`).
 *
 * `parse` reads each message as one of those events (upcast to its latest version); a message
 * it refuses, of a type outside the union among them, is invalid and terminated at once. It may
 * be left out only by a projection of every event (`Projection`, of `CohortEvent`): it then
 * reads with the parser of its consumer's stream.
 *
 * Contract: `apply` (and `applyBatch`, when given) runs inside the runtime's transaction, together
 * with the inbox row of each message; a throw rolls back that message's work only. A
 * `PermanentError`, or a data or constraint error of the database, terminates the message at
 * once; any other error retries it with backoff. Order is the stream's within one batch; across
 * instances and redeliveries it is not guaranteed, so decide by stream sequence or event time
 * where order matters.
 */
export type Projection<E extends CohortEvent = CohortEvent> = ProjectionOf<E> &
  (CohortEvent extends E ? { parse?: EventParser<E> } : { parse: EventParser<E> });

/** The parser a projection reads its messages with. */
export function projectionParser(projection: Projection): EventParser<CohortEvent> {
  if (projection.parse) return projection.parse;
  const stream = projection.consumer.stream;
  // Only streams of CohortEvents: a projection of every event reads nothing else.
  if (stream === Streams.REPORTS.name || stream === Streams.PROJECTS.name)
    return STREAM_PARSERS[stream];
  return parseEvent;
}
