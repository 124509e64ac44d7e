import type { EventParser } from '@cohort/contracts';
import { DeliverPolicy, jetstream, type ConsumerMessages } from '@nats-io/jetstream';
import type { Connection } from '../connection.js';
import type { Logger } from '../logger.js';
import { STREAM_PARSERS, type EventStream, type StreamEvent } from '../stream-events.js';

/**
 * An in-memory view of the latest event on every subject of a stream, kept live.
 *
 * For state every instance of a service needs whole (e.g. each trial's status in epro-api): an
 * ordered consumer per instance, starting from the last event per subject, so it replays one
 * event per aggregate at start and then follows. A durable would split the events between
 * instances, which is right for work but wrong for a view each instance must hold in full.
 * `ready` resolves once the view has caught up with the stream as it was at start. Events are
 * read with the parser of their stream (see STREAM_PARSERS); one it refuses is skipped, logged.
 */
export class LastPerSubjectView<S extends EventStream> {
  readonly #latest = new Map<string, StreamEvent<S>>();
  #messages: ConsumerMessages | undefined;
  readonly ready: Promise<void>;
  #caughtUp = false;
  #markReady!: () => void;

  constructor(
    private readonly conn: Connection,
    private readonly stream: S,
    private readonly filter: string,
    private readonly log?: Logger,
  ) {
    this.ready = new Promise((r) => (this.#markReady = r));
  }

  async start(): Promise<void> {
    const consumer = await jetstream(this.conn.nc).consumers.get(this.stream, {
      filter_subjects: this.filter, // a string: one filter, which servers before 2.10 understand
      deliver_policy: DeliverPolicy.LastPerSubject,
    });
    const info = await consumer.info(true);
    if (info.num_pending === 0) this.#done();
    this.#messages = await consumer.consume();
    // The lookup's type is the union over every stream; for this S it is StreamEvent<S>'s parser.
    const parse = STREAM_PARSERS[this.stream] as EventParser<StreamEvent<S>>;
    void (async () => {
      for await (const m of this.#messages!) {
        const parsed = parse(m.data);
        if (parsed.ok) this.#latest.set(m.subject, parsed.event);
        else
          this.log?.warn(
            { subject: m.subject, error: parsed.error.message },
            'view skipped an invalid event',
          );
        if (m.info.pending === 0) this.#done();
      }
    })();
  }

  #done() {
    if (this.#caughtUp) return;
    this.#caughtUp = true;
    this.#markReady();
  }

  /** The latest event on `subject`, if any. */
  get(subject: string): StreamEvent<S> | undefined {
    return this.#latest.get(subject);
  }

  async stop(): Promise<void> {
    await this.#messages?.close();
  }
}
