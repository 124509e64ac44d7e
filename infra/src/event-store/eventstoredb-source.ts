import { AnyEnvelope } from '@cohort/contracts';
import { EventStoreDBClient, START, streamNameFilter } from '@eventstore/db-client';
import type { ForwardSource, SourceEvent } from './forward-source.js';

/** A position in EventStoreDB's log as the checkpoint keeps it: `<commit>/<prepare>`. */
function positionOf(p: { commit: bigint; prepare: bigint }): string {
  return `${p.commit}/${p.prepare}`;
}

function parsePosition(s: string): { commit: bigint; prepare: bigint } {
  const [commit, prepare] = s.split('/');
  if (commit === undefined || prepare === undefined) {
    throw new Error(`not an EventStoreDB position: ${s}`);
  }
  return { commit: BigInt(commit), prepare: BigInt(prepare) };
}

/**
 * The events that EventStoreDbEventStore wrote under `prefix` (its streams `<prefix>-<id>`), as
 * a ForwardSource: a subscription to `$all` from a position (EventStoreDB starts after it),
 * filtered on the stream-name prefix server-side. `$all` is in commit order, and each stream's
 * events in revision order within it.
 */
export class EventStoreDbSource implements ForwardSource {
  private constructor(
    private readonly client: EventStoreDBClient,
    private readonly prefix: string,
  ) {}

  /** `connectionString` as EventStoreDB takes it, e.g. `esdb://127.0.0.1:2113?tls=false`. */
  static open(connectionString: string, prefix: string): EventStoreDbSource {
    return new EventStoreDbSource(EventStoreDBClient.connectionString(connectionString), prefix);
  }

  async *subscribe(from: string | undefined, signal: AbortSignal): AsyncIterable<SourceEvent> {
    const streamPrefix = `${this.prefix}-`;
    const subscription = this.client.subscribeToAll({
      fromPosition: from === undefined ? START : parsePosition(from),
      filter: streamNameFilter({ prefixes: [streamPrefix] }),
    });
    const end = () => void subscription.unsubscribe().catch(() => undefined);
    signal.addEventListener('abort', end, { once: true });
    try {
      for await (const resolved of subscription) {
        const e = resolved.event;
        if (!e || !e.streamId.startsWith(streamPrefix)) continue;
        yield {
          position: positionOf(e.position),
          aggregateId: e.streamId.slice(streamPrefix.length),
          version: Number(e.revision) + 1,
          event: AnyEnvelope.parse(e.data),
        };
      }
    } finally {
      signal.removeEventListener('abort', end);
      await subscription.unsubscribe().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.client.dispose();
  }
}
