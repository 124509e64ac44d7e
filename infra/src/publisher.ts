import {
  headers as natsHeaders,
  NoRespondersError,
  RequestError,
  TimeoutError,
} from '@nats-io/transport-node';
import type { Connection } from './connection.js';
import {
  NotConnectedError,
  PublishRejectedError,
  PublishTimeoutError,
  StreamFullError,
  StreamUnavailableError,
  WrongLastSequenceError,
} from './errors.js';

/** Long enough for a file-backed stream under a burst on 2 cores; short enough for an HTTP client. */
export const DEFAULT_PUBLISH_TIMEOUT_MS = 5_000;

/** The stream's answer to a stored (or deduplicated) message. */
export interface PubAck {
  stream: string;
  seq: number;
  /** True when the stream already held a message with this Nats-Msg-Id (within its window). */
  duplicate: boolean;
}

export interface PublishOptions {
  /** Sets `Nats-Msg-Id`: the stream drops a second message with the same id inside its window. */
  msgId?: string;
  /** Sets `Nats-Expected-Last-Subject-Sequence`: optimistic concurrency per subject. */
  expectedLastSubjectSequence?: number;
  /** Extra headers (e.g. the event type). */
  headers?: Record<string, string>;
  timeoutMs?: number;
}

interface ApiError {
  code: number;
  err_code?: number;
  description?: string;
}

// JetStream error codes (server errors.json) that mean "the stream has no room".
const STREAM_FULL_CODES = new Set([10077, 10047, 10028]);
const WRONG_LAST_SEQUENCE = 10071;

/**
 * Publishes to JetStream and resolves only once the stream has acknowledged the message.
 *
 * Sends the publish as a core request: replies share one wildcard inbox subscription, and the
 * client coalesces all requests issued in the same tick into one socket write, so thousands can
 * be in flight at once. Every failure becomes a typed PublishError; nothing resolves unless a
 * PubAck came back.
 */
export class Publisher {
  readonly #conn: Connection;
  readonly #timeoutMs: number;
  readonly #decoder = new TextDecoder();

  constructor(conn: Connection, opts: { timeoutMs?: number } = {}) {
    this.#conn = conn;
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS;
  }

  async publish(subject: string, data: Uint8Array, opts: PublishOptions = {}): Promise<PubAck> {
    if (!this.#conn.isConnected()) throw new NotConnectedError();
    const h = natsHeaders();
    if (opts.msgId) h.set('Nats-Msg-Id', opts.msgId);
    if (opts.expectedLastSubjectSequence !== undefined) {
      h.set('Nats-Expected-Last-Subject-Sequence', String(opts.expectedLastSubjectSequence));
    }
    for (const [k, v] of Object.entries(opts.headers ?? {})) h.set(k, v);
    const timeout = opts.timeoutMs ?? this.#timeoutMs;
    let reply;
    try {
      reply = await this.#conn.nc.request(subject, data, { timeout, headers: h });
    } catch (e) {
      const noResponders =
        e instanceof NoRespondersError || (e instanceof RequestError && e.isNoResponders());
      if (noResponders) throw new StreamUnavailableError(subject);
      if (
        e instanceof TimeoutError ||
        (e instanceof RequestError && e.cause instanceof TimeoutError)
      )
        throw new PublishTimeoutError(subject, timeout);
      if (!this.#conn.isConnected()) throw new NotConnectedError();
      throw e;
    }
    const body = JSON.parse(this.#decoder.decode(reply.data)) as {
      stream?: string;
      seq?: number;
      duplicate?: boolean;
      error?: ApiError;
    };
    if (body.error) throw classify(subject, body.error);
    if (typeof body.stream !== 'string' || typeof body.seq !== 'number') {
      throw new PublishRejectedError(subject, 0, 0, 'reply is not a PubAck');
    }
    return { stream: body.stream, seq: body.seq, duplicate: body.duplicate === true };
  }
}

function classify(subject: string, e: ApiError): Error {
  const description = e.description ?? 'unknown error';
  const errCode = e.err_code ?? 0;
  if (errCode === WRONG_LAST_SEQUENCE) return new WrongLastSequenceError(subject, description);
  if (STREAM_FULL_CODES.has(errCode) || /maximum (messages|bytes)|resources/i.test(description)) {
    return new StreamFullError(subject, description);
  }
  return new PublishRejectedError(subject, e.code, errCode, description);
}
