import type { JsMsg } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { Logger } from '../logger.js';
import { recordFailure, type FailureRecord } from './failures.js';
import type { SubscriberMetrics } from './metrics.js';
import type { EventMeta } from './projection.js';

/** Redelivery delay of messages handed back while the database is out of reach. */
export const UNAVAILABLE_NAK_DELAY_MS = 1_000;

/**
 * What becomes of the messages of one subscriber that were not applied: terminated at once
 * (invalid, or failing permanently), retried with backoff, or handed back while the database
 * is out of reach. Each termination and retry is recorded in FAILURES first: the server then
 * raises MSG_TERMINATED (or, after the last nak, MAX_DELIVERIES), and the dead-letter capture
 * reads that record.
 */
export class FailureSettler {
  constructor(
    private readonly consumer: string,
    private readonly failures: () => KV,
    private readonly metrics: SubscriberMetrics,
    private readonly log: Logger,
    private readonly backoffMs: number[],
    private readonly maxDeliver: number,
  ) {}

  /** Not an event of the stream: terminated at once. */
  async invalid(msg: JsMsg, meta: EventMeta, error: string): Promise<void> {
    this.metrics.failed.inc({ consumer: this.consumer, kind: 'invalid' });
    // The reason is recorded, not given to term(): servers before 2.10 do not take one.
    await this.#record(msg, meta, error, 'invalid');
    msg.term();
  }

  /** The projection failed: terminated when no retry can help, else retried with backoff. */
  async failed(
    msg: JsMsg,
    meta: EventMeta,
    error: string,
    kind: 'permanent' | 'transient',
  ): Promise<void> {
    const d = meta.deliveries;
    const permanent = kind === 'permanent';
    this.metrics.failed.inc({ consumer: this.consumer, kind: permanent ? 'permanent' : 'handler' });
    const context = { consumer: this.consumer, seq: meta.seq, deliveries: d, error };
    if (permanent) this.log.warn(context, 'message failed permanently; terminated');
    else this.log.warn({ ...context, maxDeliver: this.maxDeliver }, 'message failed');
    await this.#record(msg, meta, error, permanent ? 'permanent' : 'handler');
    if (permanent) msg.term();
    else msg.nak(this.backoffMs[Math.min(d - 1, this.backoffMs.length - 1)]);
  }

  /**
   * The database could not take them: handed back, to come again once it answers. One at its
   * last delivery is recorded first, so the dead letter it becomes says why.
   */
  async handBack(items: { msg: JsMsg; meta: EventMeta }[], error: string): Promise<void> {
    this.metrics.failed.inc({ consumer: this.consumer, kind: 'unavailable' }, items.length);
    for (const { msg, meta } of items) {
      if (meta.deliveries >= this.maxDeliver) await this.#record(msg, meta, error, 'handler');
      msg.nak(UNAVAILABLE_NAK_DELAY_MS);
    }
  }

  #record(msg: JsMsg, meta: EventMeta, error: string, kind: FailureRecord['kind']) {
    return recordFailure(this.failures(), this.log, this.consumer, msg, meta, error, kind);
  }
}
