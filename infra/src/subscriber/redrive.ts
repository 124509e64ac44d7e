import { redriveSubject, Streams } from '@cohort/contracts';
import type { JsMsg } from '@nats-io/jetstream';
import type { ConsumerSpec } from './consumer.js';
import type { EventMeta } from './projection.js';

/** Headers a redriven copy carries, naming where the original is. */
export const RedriveHeaders = {
  stream: 'Cohort-Redrive-Stream',
  seq: 'Cohort-Redrive-Seq',
  subject: 'Cohort-Redrive-Subject',
  deadLetter: 'Cohort-Dead-Letter',
} as const;

const REDRIVE_SUFFIX = '-redrive';

/** The durable through which redriven dead letters of `spec` come back. */
export function redriveConsumer(spec: ConsumerSpec): ConsumerSpec {
  return {
    ...spec,
    stream: Streams.REDRIVE.name,
    name: `${spec.name}${REDRIVE_SUFFIX}`,
    filterSubject: redriveSubject(spec.name),
  };
}

/** The consumer whose dead letters the redrive durable `name` brings back. */
export function redrivenConsumer(name: string): string {
  return name.endsWith(REDRIVE_SUFFIX) ? name.slice(0, -REDRIVE_SUFFIX.length) : name;
}

/** Where a redriven copy came from, by its headers; the copy's own place where they are missing. */
export function redriveOrigin(
  headers: { get(name: string): string } | undefined,
  copy: { stream: string; seq: number; subject: string },
): { stream: string; seq: number; subject: string } {
  const seq = Number(headers?.get(RedriveHeaders.seq));
  return {
    stream: headers?.get(RedriveHeaders.stream) || copy.stream,
    seq: Number.isInteger(seq) && seq > 0 ? seq : copy.seq,
    subject: headers?.get(RedriveHeaders.subject) || copy.subject,
  };
}

/** Where a delivered message lives; a redriven copy is applied as its original. */
export function deliveredMeta(msg: JsMsg, redriven: boolean): EventMeta {
  const { stream, streamSequence: seq, deliveryCount: deliveries } = msg.info;
  if (!redriven) return { stream, seq, subject: msg.subject, deliveries };
  return { ...redriveOrigin(msg.headers, { stream, seq, subject: msg.subject }), deliveries };
}
