import type { JsMsg } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { Logger } from '../logger.js';
import type { EventMeta } from './projection.js';

/** What the runtime keeps of a failing message, for the dead-letter desk. */
export interface FailureRecord {
  consumer: string;
  stream: string;
  seq: number;
  subject: string;
  deliveries: number;
  error: string;
  /**
   * `handler`: the projection failed, retried until max deliver; `permanent`: the projection
   * failed in a way no retry fixes, terminated at once; `invalid`: not an event of the stream,
   * terminated at once.
   */
  kind: 'handler' | 'permanent' | 'invalid';
  firstFailedAt: string;
  lastFailedAt: string;
}

/** The FAILURES key of a message: the durable that delivered it and its stream sequence. */
export function failureKey(durable: string, streamSeq: number): string {
  return `${durable}.${streamSeq}`;
}

/**
 * Records the last error of a failing message in the FAILURES bucket, keyed by the durable that
 * delivered it and its sequence there. Best effort: a failure to record is logged, not thrown.
 */
export async function recordFailure(
  kv: KV,
  log: Logger,
  consumer: string,
  msg: JsMsg,
  meta: EventMeta,
  error: string,
  kind: FailureRecord['kind'],
): Promise<void> {
  const key = failureKey(msg.info.consumer, msg.seq);
  const now = new Date().toISOString();
  try {
    const previous = await kv.get(key);
    const first = previous?.value.length ? previous.json<FailureRecord>().firstFailedAt : now;
    const record: FailureRecord = {
      consumer,
      stream: meta.stream,
      seq: meta.seq,
      subject: meta.subject,
      deliveries: meta.deliveries,
      error: error.slice(0, 4_000),
      kind,
      firstFailedAt: first,
      lastFailedAt: now,
    };
    await kv.put(key, JSON.stringify(record));
  } catch (e) {
    log.error({ err: e, consumer, seq: meta.seq }, 'could not record failure');
  }
}

export function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}
