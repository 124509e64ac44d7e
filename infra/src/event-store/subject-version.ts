import type { JetStreamManager } from '@nats-io/jetstream';
import type { MsgHdrs } from '@nats-io/nats-core';

/** Each event's position in its aggregate, so the version is known from the last one alone. */
export const VERSION_HEADER = 'Cohort-Aggregate-Version';
/** The event type, so a reader can route or skip a message without decoding it. */
export const EVENT_TYPE_HEADER = 'Cohort-Event-Type';

/** The aggregate version a message carries in its header; undefined when it has none. */
export function versionOf(headers: Pick<MsgHdrs, 'get'> | undefined): number | undefined {
  const raw = headers?.get(VERSION_HEADER);
  if (!raw) return undefined;
  const n = Number(raw);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/**
 * The last message on `subject`: the aggregate version it completes and its stream sequence;
 * `{ version: 0, seq: 0 }` when the subject has none.
 *
 * Messages written before versions travelled in a header have none: their version is their
 * position on the subject, so it is the subject's message count. That count is taken after the
 * last message was read, so a concurrent append can make it too high, never too low: an append
 * that relies on it fails with a conflict rather than writing over a newer event.
 */
export async function lastOnSubject(
  jsm: JetStreamManager,
  stream: string,
  subject: string,
): Promise<{ version: number; seq: number }> {
  const m = await jsm.streams.getMessage(stream, { last_by_subj: subject });
  if (!m) return { version: 0, seq: 0 };
  const version = versionOf(m.header);
  if (version !== undefined) return { version, seq: m.seq };
  const info = await jsm.streams.info(stream, { subjects_filter: subject });
  return { version: info.state.subjects?.[subject] ?? 1, seq: m.seq };
}
