import { AnyEnvelope } from '@cohort/contracts';
import {
  EventStoreDBClient,
  jsonEvent,
  NO_STREAM,
  StreamNotFoundError,
  WrongExpectedVersionError,
} from '@eventstore/db-client';
import { ConcurrencyError, type EventStore, type StoredEvent } from './port.js';

/**
 * The EventStore on EventStoreDB: one EventStoreDB stream per aggregate (`<prefix>-<id>`),
 * appended with an expected revision (revision = version - 1; no stream = version 0). Several
 * events in one append are atomic here.
 */
export class EventStoreDbEventStore implements EventStore {
  private constructor(
    private readonly client: EventStoreDBClient,
    private readonly prefix: string,
  ) {}

  /** `connectionString` as EventStoreDB takes it, e.g. `esdb://127.0.0.1:2113?tls=false`. */
  static open(connectionString: string, prefix: string): EventStoreDbEventStore {
    return new EventStoreDbEventStore(
      EventStoreDBClient.connectionString(connectionString),
      prefix,
    );
  }

  #stream(id: string) {
    return `${this.prefix}-${id}`;
  }

  async read(id: string): Promise<{ version: number; events: StoredEvent[] }> {
    const events: StoredEvent[] = [];
    try {
      for await (const resolved of this.client.readStream(this.#stream(id))) {
        if (!resolved.event) continue;
        events.push({
          version: Number(resolved.event.revision) + 1,
          event: AnyEnvelope.parse(resolved.event.data),
        });
      }
    } catch (e) {
      if (e instanceof StreamNotFoundError) return { version: 0, events: [] };
      throw e;
    }
    return { version: events.at(-1)?.version ?? 0, events };
  }

  async append(
    id: string,
    events: AnyEnvelope[],
    expectedVersion: number,
  ): Promise<{ version: number }> {
    try {
      const r = await this.client.appendToStream(
        this.#stream(id),
        events.map((e) => jsonEvent({ id: e.id, type: e.type, data: e })),
        { expectedRevision: expectedVersion === 0 ? NO_STREAM : BigInt(expectedVersion - 1) },
      );
      return { version: Number(r.nextExpectedRevision) + 1 };
    } catch (e) {
      if (e instanceof WrongExpectedVersionError) {
        // The error names the stream's revision (0-based) or NO_STREAM: no need to read it.
        const actual = e.actualVersion === NO_STREAM ? 0 : Number(e.actualVersion) + 1;
        throw new ConcurrencyError(id, expectedVersion, actual);
      }
      throw e;
    }
  }

  async close(): Promise<void> {
    await this.client.dispose();
  }
}
