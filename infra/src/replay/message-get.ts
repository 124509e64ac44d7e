import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { isStreamNotFound, StreamNotFound } from './errors.js';
import { ReplayedMessage, type ReplayRecord } from './record.js';
import { parseStreamTime } from './stream-time.js';

/**
 * The message at `seq` of `stream` as replay writes it, or null when the stream holds none
 * there (never stored, or gone under the stream's limits). StreamNotFound for no such stream.
 * Read with the stream's message-get API: no consumer.
 */
export async function storedMessage(
  conn: NatsConnection,
  stream: string,
  seq: number,
): Promise<ReplayRecord | null> {
  const jsm = await jetstreamManager(conn);
  try {
    const m = await jsm.streams.getMessage(stream, { seq });
    if (!m) return null;
    const nanos = parseStreamTime(m.timestamp);
    if (nanos === null) throw new Error(`the server's timestamp ${m.timestamp} is not RFC 3339`);
    return new ReplayedMessage(m.seq, m.subject, nanos, m.data).toJSON();
  } catch (e) {
    if (isStreamNotFound(e)) throw new StreamNotFound(stream);
    throw e;
  }
}
