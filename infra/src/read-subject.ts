import type { JetStreamManager, MsgRequest, StoredMsg } from '@nats-io/jetstream';

/**
 * The first message on `filter` (a subject or a wildcard) at or after `seq`, or null when there
 * is none, from the stream's message-get API. nats-server answers `next_by_subj` there since 2.9;
 * nats.js types it only for direct get, which replicas answer and may answer from behind.
 */
export function nextOnSubject(
  jsm: JetStreamManager,
  stream: string,
  filter: string,
  seq: number,
): Promise<StoredMsg | null> {
  return jsm.streams.getMessage(stream, { next_by_subj: filter, seq } as unknown as MsgRequest);
}

/**
 * The first `count` messages on `filter` in `stream` from sequence `fromSeq` on, in stream order;
 * fewer when the stream holds fewer.
 *
 * Read message by message (`next_by_subj` from the sequence after the last one read), with no
 * consumer: a reader needs only the stream's message-get API (`$JS.API.STREAM.MSG.GET.<stream>`),
 * never the right to create consumers, which on nats-server 2.9 is also the right to rewrite any
 * durable of the stream. The stream leader answers, so a read follows every write it has
 * acknowledged (what the event store's optimistic concurrency relies on).
 */
export async function readSubject(
  jsm: JetStreamManager,
  stream: string,
  filter: string,
  count: number,
  fromSeq = 1,
): Promise<StoredMsg[]> {
  const out: StoredMsg[] = [];
  let seq = fromSeq;
  while (out.length < count) {
    const m = await nextOnSubject(jsm, stream, filter, seq);
    if (!m) break;
    out.push(m);
    seq = m.seq + 1;
  }
  return out;
}
