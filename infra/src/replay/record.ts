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
  /** The stored bytes, when they are the event as written (no upcast) on one line (jsonl.ts). */
  [STORED]?: Uint8Array;
}

/** Where a record keeps its event's stored bytes; JSON.stringify leaves symbol keys out. */
export const STORED = Symbol('stored event');

const decoder = new TextDecoder();

export function replayRecord(
  m: Pick<StreamMessage, 'seq' | 'subject' | 'nanos' | 'data'>,
): ReplayRecord {
  const head = { seq: m.seq, subject: m.subject, time: formatStreamTime(m.nanos) };
  const text = decoder.decode(m.data);
  let stored: unknown;
  try {
    stored = JSON.parse(text);
  } catch (e) {
    return { ...head, event: null, invalid: `not JSON: ${(e as Error).message}` };
  }
  const event = upcast(stored);
  // Already at its latest version: its bytes serve as they are, without a second serialisation.
  if (event === stored && !/[\r\n]/.test(text)) return { ...head, event, [STORED]: m.data };
  return { ...head, event };
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
