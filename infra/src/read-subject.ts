import { DeliverPolicy } from '@nats-io/jetstream';
import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';

/**
 * The first `count` messages on `filter` in `stream`, in stream order, read with an ordered
 * consumer that is deleted afterwards; fewer when the stream holds fewer.
 */
export async function readSubject(
  js: JetStreamClient,
  stream: string,
  filter: string,
  count: number,
): Promise<JsMsg[]> {
  if (count <= 0) return [];
  const consumer = await js.consumers.get(stream, {
    filter_subjects: filter, // a string: one filter, which servers before 2.10 understand
    deliver_policy: DeliverPolicy.All,
  });
  const out: JsMsg[] = [];
  try {
    while (out.length < count) {
      const before = out.length;
      const batch = await consumer.fetch({
        max_messages: Math.min(count - out.length, 1_000),
        expires: 2_000,
      });
      for await (const m of batch) {
        out.push(m);
        if (out.length >= count) break;
      }
      if (out.length === before) break; // nothing more arrived
    }
  } finally {
    await consumer.delete().catch(() => undefined);
  }
  return out;
}
