import { upcast } from '@cohort/contracts';
import type { StreamMessage } from './reader.js';
import { formatStreamTime } from './stream-time.js';

/**
 * One replayed message, as a JSONL line carries it: where it is in the stream, when the stream
 * stored it, and the event upcast to the latest version of its type. The event is what was
 * stored, upcast, and not validated again (it was validated when it was appended); a payload
 * that is not JSON comes as `event: null` with `invalid` saying why, so no message is skipped
 * silently.
 */
export interface ReplayRecord {
  seq: number;
  subject: string;
  /** The stream's timestamp, RFC 3339 in UTC to the nanosecond. */
  time: string;
  event: unknown;
  invalid?: string;
}

const decoder = new TextDecoder();

export function replayRecord(
  m: Pick<StreamMessage, 'seq' | 'subject' | 'nanos' | 'data'>,
): ReplayRecord {
  const head = { seq: m.seq, subject: m.subject, time: formatStreamTime(m.nanos) };
  let stored: unknown;
  try {
    stored = JSON.parse(decoder.decode(m.data));
  } catch (e) {
    return { ...head, event: null, invalid: `not JSON: ${(e as Error).message}` };
  }
  return { ...head, event: upcast(stored) };
}

/** The event's `type`, when it has one. */
export function eventType(r: ReplayRecord): string | undefined {
  const type = (r.event as { type?: unknown } | null)?.type;
  return typeof type === 'string' ? type : undefined;
}

/**
 * The trial the event belongs to, when it names one: `data.trialId`, or `data.projectId` for a
 * trial project's own events (a project is its trial, under the same id).
 */
export function eventTrial(r: ReplayRecord): string | undefined {
  const data = (r.event as { data?: { trialId?: unknown; projectId?: unknown } } | null)?.data;
  const trialId = data?.trialId ?? data?.projectId;
  return typeof trialId === 'string' ? trialId : undefined;
}
