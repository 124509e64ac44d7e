import { createHash } from 'node:crypto';

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
