import {
  JetStreamApiCodes,
  JetStreamApiError,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import type { Consumer, ConsumerInfo, ConsumerMessages } from '@nats-io/jetstream';
import type { Connection } from '../connection.js';
import { ensureConsumer, type ConsumerSpec } from './consumer.js';

function isConsumerNotFound(e: unknown): boolean {
  return e instanceof JetStreamApiError && e.code === JetStreamApiCodes.ConsumerNotFound;
}

/**
 * One durable consumer a subscriber pulls from. Someone may delete it while the subscriber runs
 * (an operator, a topology reset): it is then detached, and attaching again creates it anew with
 * the same settings. A new durable delivers the stream from the start; the inbox skips what was
 * applied, so nothing is applied twice.
 */
export class Durable {
  #consumer: Consumer | undefined;

  constructor(
    private readonly conn: Connection,
    readonly spec: ConsumerSpec,
  ) {}

  get attached(): boolean {
    return this.#consumer !== undefined;
  }

  /** Creates the durable if it is missing (or brings its settings up to date) and binds to it. */
  async attach(): Promise<void> {
    await ensureConsumer(await jetstreamManager(this.conn.nc), this.spec);
    this.#consumer = await jetstream(this.conn.nc).consumers.get(this.spec.stream, this.spec.name);
  }

  /** One pull request of at most `max` messages, open at most `expiresMs`. */
  fetch(max: number, expiresMs: number): Promise<ConsumerMessages> {
    if (!this.#consumer) return Promise.reject(new Error(`${this.spec.name} is not attached`));
    return this.#consumer.fetch({ max_messages: max, expires: expiresMs });
  }

  /** The durable's state, read from the server now; a durable found gone is detached. */
  async info(): Promise<ConsumerInfo> {
    if (!this.#consumer) throw new Error(`${this.spec.name} is not attached`);
    try {
      return await this.#consumer.info(false); // the cached copy never moves
    } catch (e) {
      if (isConsumerNotFound(e)) this.#consumer = undefined;
      throw e;
    }
  }

  /** After a failed fetch: whether the durable is gone (and so detached). */
  async gone(): Promise<boolean> {
    try {
      await this.info();
      return false;
    } catch {
      return !this.attached;
    }
  }
}
