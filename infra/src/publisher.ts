import {
  createInbox,
  headers as natsHeaders,
  PermissionViolationError,
} from '@nats-io/transport-node';
import type { Msg, MsgHdrs } from '@nats-io/transport-node';
import type { Connection } from './connection.js';
import {
  NotConnectedError,
  PublishNotAllowedError,
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
}

interface ApiError {
  code: number;
  err_code?: number;
  description?: string;
}

// JetStream error codes (server errors.json) that mean "the stream has no room".
const STREAM_FULL_CODES = new Set([10077, 10047, 10028]);
const WRONG_LAST_SEQUENCE = 10071;

interface Pending {
  resolve(ack: PubAck): void;
  reject(e: Error): void;
  subject: string;
  deadline: number;
}

/** How often expired requests are swept; a timeout fires at most this much late. */
const SWEEP_INTERVAL_MS = 100;

/**
 * Publishes to JetStream and resolves only once the stream has acknowledged the message.
 *
 * The hot path of every writer. Each publish is a core publish with a reply subject under one
 * shared inbox subscription (under the connection's inbox prefix, the only replies its user may
 * read); the client coalesces all publishes issued in the same tick into
 * one socket write, so thousands can be in flight. Timeouts are swept by one timer instead of
 * one timer per message, and no stack trace is captured per message.
 *
 * Contract: a returned PubAck means the stream stored the message (or already held one with
 * the same Nats-Msg-Id). Every failure is a typed PublishError; on a timeout the message may
 * have been stored, so retry with the same Nats-Msg-Id.
 */
export class Publisher {
  readonly #conn: Connection;
  readonly #timeoutMs: number;
  readonly #decoder = new TextDecoder();
  readonly #pending = new Map<string, Pending>();
  readonly #inbox: string;
  #next = 0;
  #outbox: { subject: string; data: Uint8Array; token: string; headers: MsgHdrs }[] = [];
  #sweeper: NodeJS.Timeout | undefined;

  constructor(conn: Connection, opts: { timeoutMs?: number } = {}) {
    this.#conn = conn;
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS;
    this.#inbox = `${createInbox(conn.inboxPrefix)}.`;
    conn.nc.subscribe(`${this.#inbox}*`, { callback: (_err, msg) => this.#onReply(msg) });
    void conn.nc.closed().then(() => this.#failAll(new NotConnectedError()));
    // A publish the user may not make gets no reply, only the server's error: fail it at once
    // rather than after the timeout.
    void (async () => {
      for await (const s of conn.nc.status()) {
        const e = s.type === 'error' ? s.error : undefined;
        if (e instanceof PermissionViolationError && e.operation === 'publish') {
          this.#refuse(e.subject);
        }
      }
    })();
  }

  publish(subject: string, data: Uint8Array, opts: PublishOptions = {}): Promise<PubAck> {
    if (!this.#conn.isConnected()) return Promise.reject(new NotConnectedError());
    const h = natsHeaders();
    if (opts.msgId) h.set('Nats-Msg-Id', opts.msgId);
    if (opts.expectedLastSubjectSequence !== undefined) {
      h.set('Nats-Expected-Last-Subject-Sequence', String(opts.expectedLastSubjectSequence));
    }
    if (opts.headers) for (const [k, v] of Object.entries(opts.headers)) h.set(k, v);
    const token = (this.#next++).toString(36);
    return new Promise<PubAck>((resolve, reject) => {
      this.#pending.set(token, {
        resolve,
        reject,
        subject,
        deadline: performance.now() + this.#timeoutMs,
      });
      this.#sweeper ??= setInterval(() => this.#sweep(), SWEEP_INTERVAL_MS).unref();
      this.#outbox.push({ subject, data, token, headers: h });
      if (this.#outbox.length === 1) setImmediate(this.#flush);
    });
  }

  // Publishes queued during one turn of the event loop (e.g. one per HTTP request read in that
  // turn) go to the client together, so they leave in one socket write instead of one each.
  readonly #flush = () => {
    const batch = this.#outbox;
    this.#outbox = [];
    for (const m of batch) {
      try {
        this.#conn.nc.publish(m.subject, m.data, {
          reply: this.#inbox + m.token,
          headers: m.headers,
        });
      } catch (e) {
        const p = this.#pending.get(m.token);
        this.#pending.delete(m.token);
        p?.reject(this.#conn.isConnected() ? (e as Error) : new NotConnectedError());
      }
    }
  };

  #onReply(msg: Msg): void {
    const token = msg.subject.slice(this.#inbox.length);
    const p = this.#pending.get(token);
    if (!p) return; // timed out already
    this.#pending.delete(token);
    if (msg.data.length === 0 && msg.headers?.code === 503) {
      p.reject(new StreamUnavailableError(p.subject));
      return;
    }
    let body: { stream?: string; seq?: number; duplicate?: boolean; error?: ApiError };
    try {
      body = JSON.parse(this.#decoder.decode(msg.data)) as typeof body;
    } catch {
      p.reject(new PublishRejectedError(p.subject, 0, 0, 'reply is not JSON'));
      return;
    }
    if (body.error) p.reject(classify(p.subject, body.error));
    else if (typeof body.stream !== 'string' || typeof body.seq !== 'number') {
      p.reject(new PublishRejectedError(p.subject, 0, 0, 'reply is not a PubAck'));
    } else p.resolve({ stream: body.stream, seq: body.seq, duplicate: body.duplicate === true });
  }

  // Entries are in insertion order and share one timeout, so the first live one ends the sweep.
  #sweep(): void {
    const now = performance.now();
    for (const [token, p] of this.#pending) {
      if (p.deadline > now) break;
      this.#pending.delete(token);
      p.reject(new PublishTimeoutError(p.subject, this.#timeoutMs));
    }
    if (this.#pending.size === 0 && this.#sweeper) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  }

  /** Rejects every pending publish on `subject`: the server refused them all. */
  #refuse(subject: string): void {
    for (const [token, p] of this.#pending) {
      if (p.subject !== subject) continue;
      this.#pending.delete(token);
      p.reject(new PublishNotAllowedError(subject));
    }
  }

  #failAll(e: Error): void {
    for (const p of this.#pending.values()) p.reject(e);
    this.#pending.clear();
    if (this.#sweeper) clearInterval(this.#sweeper);
    this.#sweeper = undefined;
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
