import type { EventParser } from '@cohort/contracts';
import { jetstreamManager, type JetStreamManager, type StoredMsg } from '@nats-io/jetstream';
import type { Subscription } from '@nats-io/transport-node';
import type { Connection } from '../connection.js';
import type { Logger } from '../logger.js';
import { nextOnSubject } from '../read-subject.js';
import { STREAM_PARSERS, type EventStream, type StreamEvent } from '../stream-events.js';

/** Last messages read at once while loading: enough to load thousands of subjects in a blink. */
const LOAD_CONCURRENCY = 64;
/**
 * How often the view reads on without being told: it catches what a lost doorbell (a reconnect)
 * missed, within a second.
 */
const FOLLOW_POLL_MS = 1_000;
/**
 * A doorbell can ring before the stream has stored the message that rang it: the view looks
 * again this much later, a few times, before leaving it to the poll.
 */
const DOORBELL_RETRY_MS = 20;
const DOORBELL_RETRIES = 5;

/**
 * An in-memory view of the latest event on every subject of a stream, kept live.
 *
 * For state every instance of a service needs whole (e.g. each trial's status in epro-api). It
 * is read from the stream message by message, with no consumer, so its user needs only to read
 * the stream and subscribe to its subjects: at start, the last message of every subject (one
 * per aggregate), then every message after the stream's last sequence at start, in order. A
 * core subscription on the filter is only a doorbell that says when to read on (its messages
 * are not trusted: one the stream refused reaches it too), and a poll every second covers a
 * doorbell missed while disconnected. `ready` resolves once the view has loaded the stream as
 * it was at start. Events are read with the parser of their stream (see STREAM_PARSERS); one it
 * refuses is skipped, logged.
 */
export class LastPerSubjectView<S extends EventStream> {
  readonly #latest = new Map<string, { seq: number; event: StreamEvent<S> }>();
  readonly #first = new Map<string, StreamEvent<S>>();
  readonly ready: Promise<void>;
  #markReady!: () => void;
  #jsm: JetStreamManager | undefined;
  #parse: EventParser<StreamEvent<S>>;
  /** The next stream sequence to read while following. */
  #next = 1;
  #doorbell: Subscription | undefined;
  #poll: NodeJS.Timeout | undefined;
  #reading: Promise<void> | undefined;
  /** Set while a read is queued behind the one in progress: the retries it gets. */
  #again: number | undefined;
  #stopped = false;

  constructor(
    private readonly conn: Connection,
    private readonly stream: S,
    private readonly filter: string,
    private readonly log?: Logger,
  ) {
    this.ready = new Promise((r) => (this.#markReady = r));
    // The lookup's type is the union over every stream; for this S it is StreamEvent<S>'s parser.
    this.#parse = STREAM_PARSERS[stream] as EventParser<StreamEvent<S>>;
  }

  async start(): Promise<void> {
    const jsm = (this.#jsm = await jetstreamManager(this.conn.nc));
    // First the doorbell, then the load: nothing stored after the load can go unnoticed.
    this.#doorbell = this.conn.nc.subscribe(this.filter, {
      callback: () => this.#readOn(DOORBELL_RETRIES),
    });
    const info = await jsm.streams.info(this.stream, { subjects_filter: this.filter });
    this.#next = info.state.last_seq + 1;
    const subjects = Object.keys(info.state.subjects ?? {});
    for (let i = 0; i < subjects.length; i += LOAD_CONCURRENCY) {
      const lasts = await Promise.all(
        subjects
          .slice(i, i + LOAD_CONCURRENCY)
          .map((subject) => jsm.streams.getMessage(this.stream, { last_by_subj: subject })),
      );
      for (const m of lasts) if (m) this.#apply(m);
    }
    this.#markReady();
    this.#poll = setInterval(() => this.#readOn(0), FOLLOW_POLL_MS).unref();
    this.#readOn(0);
  }

  /** The latest event on `subject`, if any. */
  get(subject: string): StreamEvent<S> | undefined {
    return this.#latest.get(subject)?.event;
  }

  /**
   * The first event on `subject` (an aggregate's creation), read from the stream once and kept:
   * a subject's first message never changes. Undefined while it has none.
   */
  async first(subject: string): Promise<StreamEvent<S> | undefined> {
    const held = this.#first.get(subject);
    if (held) return held;
    if (!this.#jsm) throw new Error('the view is not started');
    const m = await nextOnSubject(this.#jsm, this.stream, subject, 1);
    const parsed = m ? this.#parse(m.data) : undefined;
    if (!parsed?.ok) return undefined;
    this.#first.set(subject, parsed.event);
    return parsed.event;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#poll);
    this.#doorbell?.unsubscribe();
    await this.#reading;
  }

  /** Keeps the later of two messages of a subject: the load and the follow may both see one. */
  #apply(m: StoredMsg): void {
    const parsed = this.#parse(m.data);
    if (!parsed.ok) {
      this.log?.warn(
        { subject: m.subject, seq: m.seq, error: parsed.error.message },
        'view skipped an invalid event',
      );
      return;
    }
    const held = this.#latest.get(m.subject);
    if (!held || held.seq < m.seq) this.#latest.set(m.subject, { seq: m.seq, event: parsed.event });
  }

  /** Reads every message after the last one read; one read at a time, another queued behind. */
  #readOn(retries: number): void {
    if (this.#stopped || !this.#jsm) return;
    if (this.#reading) {
      this.#again = Math.max(this.#again ?? 0, retries);
      return;
    }
    this.#reading = this.#follow(this.#jsm)
      .then((read) => {
        if (read === 0 && retries > 0) {
          setTimeout(() => this.#readOn(retries - 1), DOORBELL_RETRY_MS).unref();
        }
      })
      .catch((e: unknown) => {
        this.log?.warn({ err: (e as Error).message, stream: this.stream }, 'view read failed');
      })
      .finally(() => {
        this.#reading = undefined;
        const again = this.#again;
        this.#again = undefined;
        if (again !== undefined) this.#readOn(again);
      });
  }

  async #follow(jsm: JetStreamManager): Promise<number> {
    let read = 0;
    while (!this.#stopped) {
      const m = await nextOnSubject(jsm, this.stream, this.filter, this.#next);
      if (!m) break;
      this.#apply(m);
      this.#next = m.seq + 1;
      read++;
    }
    return read;
  }
}
