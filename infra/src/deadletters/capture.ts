import { Streams } from '@cohort/contracts';
import type { DeadLetterCaptured, DeadLetterEvent } from '@cohort/contracts';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { Consumer, JetStreamManager, JsMsg, StoredMsg } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { DecidedEventInvalidError, type CommandHandler } from '../event-store/command-handler.js';
import { ConcurrencyError } from '../event-store/port.js';
import type { Logger } from '../logger.js';
import { failureKey, type FailureRecord } from '../subscriber/failures.js';
import { redriveOrigin, redrivenConsumer } from '../subscriber/redrive.js';
import {
  GONE_ERROR,
  GONE_SUBJECT,
  type DeadLetterCommand,
  type DeadLetterState,
} from './decider.js';

/**
 * An advisory that met a transient error (NATS busy or restarting) comes back after this long:
 * soon enough that the dead letter shows up within seconds, slow enough not to spin.
 */
export const CAPTURE_RETRY_DELAY_MS = 5_000;
/** Advisories per fetch of the background capture. */
const CAPTURE_BATCH = 100;
/** Advisories per fetch of captureAll: bounds the memory of one catch-up. */
const CATCH_UP_BATCH = 500;
/** How long one fetch waits for advisories before the loop looks again. */
const FETCH_EXPIRES_MS = 2_000;
/** Pause of the background capture after a failed fetch (NATS down), before it tries again. */
const FETCH_RETRY_MS = 1_000;

/** What JetStream says when it gives up on a message (MAX_DELIVERIES, MSG_TERMINATED). */
export interface Advisory {
  type: string;
  id: string;
  timestamp: string;
  stream: string;
  consumer: string;
  stream_seq: number;
  deliveries?: number;
}

type DeadLetterHandler = CommandHandler<DeadLetterCommand, DeadLetterState, DeadLetterEvent>;

/**
 * The message at `seq` in `stream`, or null when JetStream says there is none (it was removed
 * by the stream's limits): that message is gone for good. Any other error (a timeout, NATS
 * down) says nothing about the message and is thrown, to be retried.
 */
export async function originalMessage(
  jsm: JetStreamManager,
  stream: string,
  seq: number,
): Promise<StoredMsg | null> {
  try {
    return await jsm.streams.getMessage(stream, { seq });
  } catch (e) {
    if (isNoMessageFound(e)) return null;
    throw e;
  }
}

/** JetStream's "no message found" (10037): the one error that means a message is gone. */
export function isNoMessageFound(e: unknown): boolean {
  return e instanceof JetStreamApiError && e.code === JetStreamApiCodes.NoMessageFound;
}

function isAdvisory(a: unknown): a is Advisory {
  const v = a as Partial<Advisory> | null;
  return (
    typeof v?.type === 'string' &&
    typeof v.stream === 'string' &&
    typeof v.consumer === 'string' &&
    typeof v.stream_seq === 'number' &&
    typeof v.timestamp === 'string'
  );
}

/** Envelope ids are at most this long; a longer one in a broken payload is not taken over. */
const MAX_ID_LENGTH = 128;

function idOr(v: unknown, fallback: string): string {
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_ID_LENGTH ? v : fallback;
}

function headersOf(m: StoredMsg): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const k of m.header.keys()) out[k] = m.header.values(k);
  return out;
}

/**
 * Turns JetStream's dead-letter advisories (kept by the ADVISORIES stream even while nothing
 * runs) into dead letters, through the dead-letter command handler: `dl-<advisory sequence>`,
 * so an advisory delivered twice, or to two capturers, is captured once.
 *
 * An advisory is acked once its dead letter is recorded. One that meets a transient error is
 * nak'ed with a delay and comes back; the advisories behind it are captured meanwhile.
 */
export class AdvisoryCapture {
  #running: Promise<void> | undefined;
  #stopping = false;

  constructor(
    private readonly consumer: Consumer,
    private readonly jsm: JetStreamManager,
    private readonly failures: KV,
    private readonly handler: DeadLetterHandler,
    private readonly log?: Logger,
  ) {}

  /** Captures every advisory not captured yet; returns how many dead letters it added. */
  async captureAll(): Promise<number> {
    let added = 0;
    for (;;) {
      const pending = (await this.consumer.info(false)).num_pending;
      if (pending === 0) return added;
      const batch = await this.consumer.fetch({
        max_messages: Math.min(pending, CATCH_UP_BATCH),
        expires: FETCH_EXPIRES_MS,
      });
      for await (const m of batch) if (await this.#process(m)) added++;
    }
  }

  /** Keeps capturing in the background until stop(). */
  start(): void {
    this.#running ??= (async () => {
      while (!this.#stopping) {
        try {
          const batch = await this.consumer.fetch({
            max_messages: CAPTURE_BATCH,
            expires: FETCH_EXPIRES_MS,
          });
          for await (const m of batch) await this.#process(m);
        } catch (e) {
          if (this.#stopping) return;
          this.log?.warn({ err: (e as Error).message }, 'dead-letter capture failed; retrying');
          await new Promise((r) => setTimeout(r, FETCH_RETRY_MS));
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#running;
  }

  /** Captures one delivered advisory and acks it; nak's it with a delay when that failed. */
  async #process(m: JsMsg): Promise<boolean> {
    let advisory: unknown;
    try {
      advisory = m.json();
    } catch {
      advisory = undefined;
    }
    if (!isAdvisory(advisory)) {
      // Nothing in it names a message: there is nothing to capture, now or later.
      this.log?.error({ seq: m.seq, subject: m.subject }, 'not a consumer advisory; skipped');
      m.ack();
      return false;
    }
    try {
      const added = await this.capture(m.seq, advisory);
      m.ack();
      return added;
    } catch (e) {
      m.nak(CAPTURE_RETRY_DELAY_MS);
      // A dead letter this build cannot record is a bug: it stays in ADVISORIES for a fix.
      const level = e instanceof DecidedEventInvalidError ? 'error' : 'warn';
      this.log?.[level](
        { err: (e as Error).message, seq: m.seq, stream: advisory.stream },
        'dead letter not captured yet; retrying',
      );
      return false;
    }
  }

  /**
   * Records the dead letter of the advisory at `advisorySeq`. Returns false when there is
   * nothing to add: captured before, or an advisory of the desk's own streams. Throws on a
   * transient error, having recorded nothing.
   */
  async capture(advisorySeq: number, a: Advisory): Promise<boolean> {
    const ownStreams: string[] = [Streams.ADVISORIES.name, Streams.DEADLETTERS.name];
    if (ownStreams.includes(a.stream)) return false;
    const id = `dl-${advisorySeq}`;
    // Captured before (an advisory redelivered after a crash before its ack): no need to look
    // for the message again.
    if ((await this.handler.load(id)).state) return false;
    const command = await this.#command(id, a);
    try {
      const r = await this.handler.handle(id, command, { expectedVersion: 0 });
      if (r.appended.length === 0) return false;
    } catch (e) {
      if (e instanceof ConcurrencyError) return false; // another capturer recorded it first
      throw e;
    }
    const { consumer, stream, seq, cause } = command.data;
    this.log?.warn({ deadLetterId: id, consumer, stream, seq, cause }, 'dead letter captured');
    return true;
  }

  async #command(id: string, a: Advisory): Promise<DeadLetterCommand & { type: 'Capture' }> {
    const cause = a.type.endsWith('.terminated') ? 'terminated' : 'max_deliveries';
    const delivered = await originalMessage(this.jsm, a.stream, a.stream_seq);
    // A redriven copy that failed again is a dead letter of the original consumer and message.
    const isRedrive = a.stream === Streams.REDRIVE.name;
    const consumer = isRedrive ? redrivenConsumer(a.consumer) : a.consumer;
    const copy = { stream: a.stream, seq: a.stream_seq, subject: delivered?.subject ?? '' };
    const { stream, seq } = isRedrive && delivered ? redriveOrigin(delivered.header, copy) : copy;
    // The original may have left its stream since; the copy still says what was sent.
    const original =
      isRedrive && delivered
        ? ((await originalMessage(this.jsm, stream, seq)) ?? delivered)
        : delivered;
    const entry = await this.failures.get(failureKey(a.consumer, a.stream_seq));
    const failure = entry?.value.length ? entry.json<FailureRecord>() : undefined;
    let envelope: unknown = null;
    try {
      envelope = original ? JSON.parse(new TextDecoder().decode(original.data)) : null;
    } catch {
      envelope = null;
    }
    const at = new Date(a.timestamp).toISOString();
    const env = (envelope ?? {}) as { id?: unknown; correlationId?: unknown };
    const deliveries = a.deliveries ?? failure?.deliveries;
    const data: DeadLetterCaptured['data'] = {
      deadLetterId: id,
      consumer,
      cause,
      stream,
      seq,
      subject: original?.subject ?? GONE_SUBJECT,
      headers: original ? headersOf(original) : {},
      payload: original ? Buffer.from(original.data).toString('base64') : '',
      envelope,
      deliveries: deliveries ?? 0,
      firstFailedAt: failure ? new Date(failure.firstFailedAt).toISOString() : at,
      lastFailedAt: failure ? new Date(failure.lastFailedAt).toISOString() : at,
      lastError: original
        ? (failure?.error ?? null)
        : failure
          ? `${GONE_ERROR}; the subscriber's last error: ${failure.error}`
          : GONE_ERROR,
    };
    return {
      type: 'Capture',
      data,
      occurredAt: at,
      at: new Date().toISOString(),
      reason:
        cause === 'terminated'
          ? 'terminated by the subscriber: the message can never be applied'
          : `not applied after ${deliveries ?? '?'} deliveries`,
      correlationId: idOr(env.correlationId, `${stream}:${seq}`),
      causationId: idOr(env.id, `${stream}:${seq}`),
    };
  }
}
