import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import type { Consumer, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import type { Connection } from '../connection.js';
import type { ConsumerSpec } from '../subscriber/consumer.js';

/** How long one read waits for messages when the stream has no more for now. */
const READ_EXPIRES_MS = 1_000;

/** Names the server gives the rebuild's ordered consumers start with this (then `_<n>`). */
export const REBUILD_CONSUMER_PREFIX = 'cohort_rebuild';

/** One read: messages in stream order, and whether the stream had nothing after them. */
export interface Read {
  messages: JsMsg[];
  caughtUp: boolean;
}

/**
 * Reads a projection's stream (with its durable's filter) in order from `fromSeq`, through an
 * ephemeral ordered consumer: nothing to ack, no durable touched. Nobody may delete a consumer
 * (see FORBIDDEN_TO_ALL): the server drops it once it has been idle five minutes (the client's
 * inactive threshold). The live durable's position is not moved.
 */
export class StreamReader {
  private constructor(private readonly consumer: Consumer) {}

  static async open(conn: Connection, spec: ConsumerSpec, fromSeq: number): Promise<StreamReader> {
    const consumer = await jetstream(conn.nc).consumers.get(spec.stream, {
      // Unique per reader: one left idle by an earlier reader may still be on the server.
      name_prefix: `${REBUILD_CONSUMER_PREFIX}_${spec.name.replace(/[^A-Za-z0-9_-]/g, '_')}_${crypto.randomUUID().slice(0, 8)}`,
      // One subject as a string: servers before 2.10 take no list.
      ...(spec.filterSubject ? { filter_subjects: spec.filterSubject } : {}),
      ...(fromSeq > 1
        ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: fromSeq }
        : { deliver_policy: DeliverPolicy.All }),
    });
    return new StreamReader(consumer);
  }

  /**
   * Up to `max` messages; caughtUp once the last one read was the stream's last (for now). When
   * the stream has fewer than `max` left, waits READ_EXPIRES_MS for more.
   */
  async read(max: number): Promise<Read> {
    const messages: JsMsg[] = [];
    const it = await this.consumer.fetch({ max_messages: max, expires: READ_EXPIRES_MS });
    // Read to the end of the request (its count, or its expiry when the stream has fewer):
    // a request left open on the server could take a message nobody reads.
    for await (const m of it) messages.push(m);
    const last = messages.at(-1);
    // Pending: messages after the last one read that the consumer has still to deliver.
    return { messages, caughtUp: last === undefined || last.info.pending === 0 };
  }
}

/** The stream's messages (under the filter, when given) and its last sequence. */
export async function streamExtent(
  jsm: JetStreamManager,
  spec: ConsumerSpec,
): Promise<{ messages: number; lastSeq: number }> {
  if (!spec.filterSubject) {
    const { state } = await jsm.streams.info(spec.stream);
    return { messages: state.messages, lastSeq: state.last_seq };
  }
  const { state } = await jsm.streams.info(spec.stream, { subjects_filter: spec.filterSubject });
  const counts = Object.values(state.subjects ?? {});
  return { messages: counts.reduce((a, b) => a + b, 0), lastSeq: state.last_seq };
}
