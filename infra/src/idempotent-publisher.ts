import { createHash } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import { newEventId } from '@cohort/contracts';
import type { Connection } from './connection.js';
import {
  asPublishError,
  NotConnectedError,
  PublishRejectedError,
  WrongLastSequenceError,
} from './errors.js';
import type { PubAck, Publisher } from './publisher.js';
import { nextOnSubject } from './read-subject.js';
import { DEFAULT_DUPLICATE_WINDOW_MS, REQUEST_LEDGER_BUCKET } from './topology.js';

/** The same requestId was used before for different content. Nothing was stored. */
export class RequestConflictError extends Error {
  override readonly name = 'RequestConflictError';
  constructor(
    readonly requestId: string,
    readonly eventId: string,
  ) {
    super(`requestId ${requestId} was already used for different content (event ${eventId})`);
  }
}

export interface PublishOnceInput {
  /** The client's idempotency key; also the `Nats-Msg-Id`. A KV-safe token (a UUID). */
  requestId: string;
  /**
   * What identifies the content, hashed as its JSON: a schema-parsed value, so that a retry of
   * the same content produces the same JSON.
   */
  content: unknown;
  subject: string;
  /** Builds the stored bytes from the event id and record time; called again on a retry. */
  build(eventId: string, recordedAt: string): Uint8Array;
  headers?: Record<string, string>;
}

export interface PublishOnceResult extends PubAck {
  eventId: string;
}

interface Reservation {
  hash: string;
  eventId: string;
  recordedAt: string;
  subject: string;
  stream?: string;
  seq?: number;
}

/**
 * Margin for clocks and in-flight publishes when deciding that a reservation is still inside
 * the stream's dedup window (and a republish is therefore deduplicated by the server).
 */
export const WINDOW_MARGIN_MS = 10_000;

export interface IdempotentPublisherOptions {
  /** The stream that stores the events (searched for a request beyond its dedup window). */
  stream: string;
  /** The stream's `duplicate_window` in milliseconds. */
  duplicateWindowMs?: number;
  /** The clock for record times and the dedup-window decision, in epoch ms; Date.now by default. */
  now?: () => number;
}

/**
 * Publishes each client request at most once, forever, not just within the stream's dedup
 * window.
 *
 * Contract:
 * - First call for a requestId reserves it in the request ledger (an atomic KV create holding
 *   the content hash and the event id), then publishes with `Nats-Msg-Id` = requestId.
 * - A later call with the same content returns the same event id and stream sequence with
 *   `duplicate: true`; with other content it throws RequestConflictError and stores nothing.
 * - A crash between reservation and publish is repaired by the next retry: inside the dedup
 *   window the republish is deduplicated by the server; beyond it, the subject is searched for
 *   the request's Nats-Msg-Id before anything is published again.
 * - Resolves only after a PubAck; every failure is a typed error and safe to retry.
 */
export class IdempotentPublisher {
  readonly #conn: Connection;
  readonly #kv: KV;
  readonly #publisher: Publisher;
  readonly #jsm: JetStreamManager;
  readonly #stream: string;
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #encoder = new TextEncoder();
  readonly #decoder = new TextDecoder();

  private constructor(
    conn: Connection,
    kv: KV,
    publisher: Publisher,
    jsm: JetStreamManager,
    stream: string,
    windowMs: number,
    now: () => number,
  ) {
    this.#conn = conn;
    this.#kv = kv;
    this.#publisher = publisher;
    this.#jsm = jsm;
    this.#stream = stream;
    this.#windowMs = windowMs;
    this.#now = now;
  }

  /** Opens the ledger bucket (provisioned by `provision()`). */
  static async open(
    conn: Connection,
    publisher: Publisher,
    opts: IdempotentPublisherOptions,
  ): Promise<IdempotentPublisher> {
    const kv = await new Kvm(conn.nc).open(REQUEST_LEDGER_BUCKET);
    const jsm = await jetstreamManager(conn.nc);
    return new IdempotentPublisher(
      conn,
      kv,
      publisher,
      jsm,
      opts.stream,
      opts.duplicateWindowMs ?? DEFAULT_DUPLICATE_WINDOW_MS,
      opts.now ?? Date.now,
    );
  }

  async publish(input: PublishOnceInput): Promise<PublishOnceResult> {
    if (!this.#conn.isConnected()) throw new NotConnectedError();
    try {
      return await this.#publish(input);
    } catch (e) {
      throw asPublishError(e, input.subject);
    }
  }

  async #publish(input: PublishOnceInput): Promise<PublishOnceResult> {
    const hash = contentHash(input.content);
    const fresh: Reservation = {
      hash,
      eventId: newEventId(),
      recordedAt: new Date(this.#now()).toISOString(),
      subject: input.subject,
    };
    let reserved = true;
    try {
      // kv.create() without the KV client: the same atomic "create if absent" through the
      // hot-path publisher (one shared inbox, no per-call timer).
      await this.#publisher.publish(
        `$KV.${REQUEST_LEDGER_BUCKET}.${input.requestId}`,
        this.#encoder.encode(JSON.stringify(fresh)),
        { expectedLastSubjectSequence: 0 },
      );
    } catch (e) {
      if (!(e instanceof WrongLastSequenceError)) throw e;
      reserved = false;
    }
    if (reserved) {
      const ack = await this.#send(input, fresh);
      const eventId = ack.duplicate ? await this.#storedEventId(ack.seq) : fresh.eventId;
      return { ...ack, eventId };
    }
    return this.#retry(input, hash);
  }

  /**
   * What an earlier call with this requestId stored, without storing anything: undefined when
   * nothing is known to be stored; RequestConflictError when it was other content.
   */
  async find(requestId: string, content: unknown): Promise<PublishOnceResult | undefined> {
    if (!this.#conn.isConnected()) throw new NotConnectedError();
    const entry = await this.#kv.get(requestId).catch((e: unknown) => {
      throw asPublishError(e, requestId);
    });
    if (!entry?.value.length) return undefined;
    const r = this.#reservation(requestId, entry.value, contentHash(content));
    if (r.stream !== undefined && r.seq !== undefined) return recorded(r, r.stream, r.seq);
    // Reserved, sequence not recorded (the fast path does not): look for it, publish nothing.
    const ack = await this.#findStored(r.subject, requestId, entry.created).catch((e: unknown) => {
      throw asPublishError(e, r.subject);
    });
    return ack ? { ...ack, eventId: r.eventId } : undefined;
  }

  async #retry(input: PublishOnceInput, hash: string): Promise<PublishOnceResult> {
    const entry = await this.#kv.get(input.requestId);
    if (!entry) throw new Error(`request ledger entry ${input.requestId} vanished`);
    const r = this.#reservation(input.requestId, entry.value, hash);
    if (r.stream !== undefined && r.seq !== undefined) return recorded(r, r.stream, r.seq);
    // Reserved but not known to be stored: a request in flight, or one that crashed.
    const age = this.#now() - entry.created.getTime();
    let ack: PubAck | undefined;
    if (age >= this.#windowMs - WINDOW_MARGIN_MS) {
      ack = await this.#findStored(r.subject, input.requestId, entry.created);
    }
    ack ??= await this.#send(input, r);
    const done: Reservation = { ...r, stream: ack.stream, seq: ack.seq };
    try {
      await this.#kv.update(
        input.requestId,
        this.#encoder.encode(JSON.stringify(done)),
        entry.revision,
      );
    } catch {
      // Another retry recorded it first; the ledger only caches what the stream already holds.
    }
    return recorded(r, ack.stream, ack.seq);
  }

  /** The ledger's reservation of a requestId; a conflict when it was made for other content. */
  #reservation(requestId: string, value: Uint8Array, hash: string): Reservation {
    const r = JSON.parse(this.#decoder.decode(value)) as Reservation;
    if (r.hash !== hash) throw new RequestConflictError(requestId, r.eventId);
    return r;
  }

  #send(input: PublishOnceInput, r: Reservation): Promise<PubAck> {
    return this.#publisher.publish(input.subject, input.build(r.eventId, r.recordedAt), {
      msgId: input.requestId,
      headers: input.headers,
    });
  }

  async #storedEventId(seq: number): Promise<string> {
    const m = await this.#jsm.streams.getMessage(this.#stream, { seq });
    if (!m) throw new PublishRejectedError(this.#stream, 0, 0, `message ${seq} not found`);
    return m.json<{ id: string }>().id;
  }

  /**
   * Searches one subject for a message with this Nats-Msg-Id stored since the reservation (less
   * a margin for clocks), up to the subject's last message, reading message by message: no
   * consumer, so the search needs no right but reading the stream. A subject is one patient's
   * diary, and this runs only for a retry beyond the dedup window of a request never confirmed.
   */
  async #findStored(subject: string, msgId: string, since: Date): Promise<PubAck | undefined> {
    const last = await this.#jsm.streams.getMessage(this.#stream, { last_by_subj: subject });
    if (!last || last.time < since) return undefined;
    const from = since.getTime() - WINDOW_MARGIN_MS;
    for (let seq = 1; seq <= last.seq;) {
      const m = await nextOnSubject(this.#jsm, this.#stream, subject, seq);
      if (!m || m.seq > last.seq) return undefined;
      if (m.time.getTime() >= from && m.header.get('Nats-Msg-Id') === msgId) {
        return { stream: this.#stream, seq: m.seq, duplicate: true };
      }
      seq = m.seq + 1;
    }
    return undefined;
  }
}

/**
 * SHA-256 of `JSON.stringify(value)`. Callers pass a schema-parsed value: zod emits keys in
 * schema order, so the same content hashes the same whatever order the client sent.
 */
export function contentHash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('base64url');
}

/** The answer for a requestId whose event the stream already holds. */
function recorded(r: Reservation, stream: string, seq: number): PublishOnceResult {
  return { eventId: r.eventId, stream, seq, duplicate: true };
}
