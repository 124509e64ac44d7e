import { AnyEnvelope } from '@cohort/contracts';
import { jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamManager } from '@nats-io/jetstream';
import type { Connection } from '../connection.js';
import { asPublishError, NotConnectedError, WrongLastSequenceError } from '../errors.js';
import { Publisher } from '../publisher.js';
import { readSubject } from '../read-subject.js';
import { ConcurrencyError, type EventStore, type StoredEvent } from './port.js';
import { EVENT_TYPE_HEADER, lastOnSubject, VERSION_HEADER, versionOf } from './subject-version.js';

const enc = new TextEncoder();

/**
 * The EventStore on JetStream: one subject per aggregate (`subject(id)`) in one stream. Appends
 * use `Nats-Expected-Last-Subject-Sequence`, so the server refuses a stale write. Several events
 * in one append are written one by one, each expecting the previous: a crash between them leaves
 * a prefix (Cohort's aggregates emit one event per command).
 *
 * Each message carries its aggregate version in `Cohort-Aggregate-Version`. Messages written
 * before that header existed are read by position: the n-th message of a subject is version n.
 */
export class JetStreamEventStore implements EventStore {
  private constructor(
    private readonly conn: Connection,
    private readonly jsm: JetStreamManager,
    private readonly publisher: Publisher,
    private readonly stream: string,
    private readonly subject: (id: string) => string,
  ) {}

  static async open(
    conn: Connection,
    stream: string,
    subject: (id: string) => string,
  ): Promise<JetStreamEventStore> {
    return new JetStreamEventStore(
      conn,
      await jetstreamManager(conn.nc),
      new Publisher(conn),
      stream,
      subject,
    );
  }

  /**
   * Runs a read against the server; a lost connection or a server that does not answer fails
   * at once as a retryable PublishError (HTTP 503), not as the client's own error after a wait.
   */
  async #reading<T>(id: string, f: () => Promise<T>): Promise<T> {
    if (!this.conn.isConnected()) throw new NotConnectedError();
    try {
      return await f();
    } catch (e) {
      throw asPublishError(e, this.subject(id));
    }
  }

  #last(id: string): Promise<{ version: number; seq: number }> {
    return this.#reading(id, () => lastOnSubject(this.jsm, this.stream, this.subject(id)));
  }

  read(id: string): Promise<{ version: number; events: StoredEvent[] }> {
    return this.#reading(id, () => this.#read(id));
  }

  async #read(id: string): Promise<{ version: number; events: StoredEvent[] }> {
    const last = await lastOnSubject(this.jsm, this.stream, this.subject(id));
    // Versions count the subject's messages: the first `last.version` are the aggregate up to
    // `last`, whatever is appended meanwhile.
    const msgs = await readSubject(this.jsm, this.stream, this.subject(id), last.version);
    const events: StoredEvent[] = msgs.map((m, i) => ({
      version: versionOf(m.header) ?? i + 1,
      event: AnyEnvelope.parse(m.json()),
    }));
    return { version: events.at(-1)?.version ?? 0, events };
  }

  async append(
    id: string,
    events: AnyEnvelope[],
    expectedVersion: number,
  ): Promise<{ version: number }> {
    const last = await this.#last(id);
    if (last.version !== expectedVersion)
      throw new ConcurrencyError(id, expectedVersion, last.version);
    let { version, seq } = last;
    for (const event of events) {
      try {
        const ack = await this.publisher.publish(
          this.subject(id),
          enc.encode(JSON.stringify(event)),
          {
            msgId: event.id,
            expectedLastSubjectSequence: seq,
            headers: { [VERSION_HEADER]: String(version + 1), [EVENT_TYPE_HEADER]: event.type },
          },
        );
        version++;
        seq = ack.seq;
      } catch (e) {
        if (e instanceof WrongLastSequenceError) {
          throw new ConcurrencyError(id, expectedVersion, (await this.#last(id)).version);
        }
        throw e;
      }
    }
    return { version };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
