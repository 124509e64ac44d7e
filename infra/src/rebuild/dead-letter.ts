import { createHash } from 'node:crypto';
import type { JsMsg } from '@nats-io/jetstream';
import type { DeadLetterDesk } from '../deadletters/desk.js';

/**
 * The dead-letter id of the message at `seq` that a rebuild of `consumer` could not apply:
 * `dl-9<6 digits of the consumer><seq in 12 digits>`. Captured advisories take `dl-<advisory
 * sequence>`, which never reaches 19 digits; the same message failing the same projection again
 * (a rebuild resumed or repeated) is the same dead letter, recorded once.
 */
export function rebuildDeadLetterId(consumer: string, seq: number): string {
  const digest = createHash('sha256').update(consumer).digest();
  const consumerDigits = String(digest.readUInt32BE(0) % 1_000_000).padStart(6, '0');
  return `dl-9${consumerDigits}${String(seq).padStart(12, '0')}`;
}

/**
 * Records `msg`, which a rebuild of `consumer` could not apply, at the dead-letter desk under
 * its rebuildDeadLetterId, with `error` and `reason`; returns the id.
 */
export async function recordRebuildDeadLetter(
  desk: DeadLetterDesk,
  consumer: string,
  msg: JsMsg,
  error: string,
  reason: string,
): Promise<string> {
  const headers: Record<string, string[]> = {};
  for (const k of msg.headers?.keys() ?? []) headers[k] = msg.headers!.values(k);
  const id = rebuildDeadLetterId(consumer, msg.seq);
  await desk.record(id, {
    consumer,
    stream: msg.info.stream,
    seq: msg.seq,
    subject: msg.subject,
    headers,
    payload: msg.data,
    error,
    reason,
  });
  return id;
}
