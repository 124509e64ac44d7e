import {
  deadLetterSubject,
  parseDeadLetterEvent,
  redriveSubject,
  Streams,
} from '@cohort/contracts';
import type { DeadLetterEvent } from '@cohort/contracts';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { CAPTURE_CONSUMER, CAPTURE_DURABLE } from '../access/services.js';
import type { Connection } from '../connection.js';
import { isPermissionViolation } from '../errors.js';
import {
  commandHandler,
  StoredEventInvalidError,
  type CommandHandler,
} from '../event-store/command-handler.js';
import { JetStreamEventStore } from '../event-store/jetstream-event-store.js';
import { ConcurrencyError } from '../event-store/port.js';
import type { Logger } from '../logger.js';
import { Publisher } from '../publisher.js';
import { readSubject } from '../read-subject.js';
import { ensureConsumer } from '../subscriber/consumer.js';
import { RedriveHeaders } from '../subscriber/redrive.js';
import { FAILURES_BUCKET } from '../topology.js';
import { AdvisoryCapture } from './capture.js';
import {
  deadLetterDecider,
  DeadLetterConflictError,
  DeadLetterNotFoundError,
  type Change,
  type DeadLetter,
  type DeadLetterCommand,
  type DeadLetterState,
  type DeadLetterStatus,
} from './decider.js';

export {
  DEAD_LETTER_STATUSES,
  DeadLetterConflictError,
  DeadLetterNotFoundError,
  type Change,
  type DeadLetter,
  type DeadLetterChange,
  type DeadLetterStatus,
} from './decider.js';

export { CAPTURE_CONSUMER };
/** Redrives per second when sending back all open dead letters of a consumer. */
export const DEFAULT_REDRIVE_RATE = 50;

type Handler = CommandHandler<DeadLetterCommand, DeadLetterState, DeadLetterEvent>;

/**
 * The dead-letter desk: captures JetStream's MAX_DELIVERIES and MSG_TERMINATED advisories as
 * dead letters in the DEADLETTERS stream (one aggregate per dead letter, `deadletters.<id>`),
 * with a copy of the original message and the subscriber's last error; lists and shows them;
 * redrives one or all of a consumer back to that consumer only; discards. Every change is an
 * event with actor, time and reason, decided by the dead-letter decider through the generic
 * command handler. Nothing is deleted.
 */
export class DeadLetterDesk {
  private constructor(
    private readonly jsm: JetStreamManager,
    private readonly handler: Handler,
    private readonly publisher: Publisher,
    private readonly capturing: AdvisoryCapture,
  ) {}

  /**
   * Needs the topology provisioned (ADVISORIES, DEADLETTERS, REDRIVE, FAILURES). Creates the
   * capture durable, or brings it up to date, where the connection's user may; a user that may
   * only pull from it (the CLI's) binds to it as it is.
   */
  static async open(conn: Connection, log?: Logger): Promise<DeadLetterDesk> {
    const jsm = await jetstreamManager(conn.nc);
    try {
      await ensureConsumer(jsm, CAPTURE_DURABLE);
    } catch (e) {
      if (!isPermissionViolation(e)) throw e;
    }
    const js = jetstream(conn.nc);
    const store = await JetStreamEventStore.open(conn, Streams.DEADLETTERS.name, deadLetterSubject);
    const handler = commandHandler(store, deadLetterDecider, parseDeadLetterEvent);
    const capturing = new AdvisoryCapture(
      await js.consumers.get(Streams.ADVISORIES.name, CAPTURE_CONSUMER),
      jsm,
      await new Kvm(conn.nc).open(FAILURES_BUCKET),
      handler,
      log,
    );
    return new DeadLetterDesk(jsm, handler, new Publisher(conn), capturing);
  }

  /** Captures every advisory not captured yet; returns how many dead letters it added. */
  captureAll(): Promise<number> {
    return this.capturing.captureAll();
  }

  /** Keeps capturing in the background until stop(). */
  startCapture(): void {
    this.capturing.start();
  }

  async stop(): Promise<void> {
    await this.capturing.stop();
  }

  /** Dead letters, oldest first, optionally of one consumer and/or in one status. */
  async list(filter: { consumer?: string; status?: DeadLetterStatus } = {}): Promise<DeadLetter[]> {
    const all = new Map<string, DeadLetter>();
    const versions = new Map<string, number>();
    const stream = Streams.DEADLETTERS.name;
    const count = (await this.jsm.streams.info(stream)).state.messages;
    for (const m of await readSubject(this.jsm, stream, Streams.DEADLETTERS.subjects[0], count)) {
      const id = m.subject.slice(m.subject.indexOf('.') + 1);
      const version = (versions.get(id) ?? 0) + 1;
      versions.set(id, version);
      const r = parseDeadLetterEvent(m.data);
      if (!r.ok) throw new StoredEventInvalidError(id, version, r.error);
      const dl = deadLetterDecider.evolve(all.get(id) ?? null, r.event);
      if (dl) all.set(id, dl);
    }
    return [...all.values()].filter(
      (d) =>
        (!filter.consumer || d.consumer === filter.consumer) &&
        (!filter.status || d.status === filter.status),
    );
  }

  async get(id: string): Promise<DeadLetter> {
    const { state } = await this.handler.load(id);
    if (!state) throw new DeadLetterNotFoundError(id);
    return state;
  }

  /** Sends the message back to the one consumer that failed it; applied through its inbox. */
  async redrive(id: string, change: Change): Promise<DeadLetter> {
    const { dl, appended } = await this.#change(id, 'Redrive', change);
    const event = appended.find((e) => e.type === 'DeadLetterRedriven');
    if (!event) throw new Error(`${id}: redrive decided no DeadLetterRedriven`);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(dl.headers))
      if (!k.startsWith('Nats-') && v[0] !== undefined) headers[k] = v[0];
    Object.assign(headers, {
      [RedriveHeaders.stream]: dl.stream,
      [RedriveHeaders.seq]: String(dl.seq),
      [RedriveHeaders.subject]: dl.subject,
      [RedriveHeaders.deadLetter]: id,
    });
    // Recorded first: a change that loses a race (a discard, another redrive) sends nothing.
    // If sending then fails, the error says retry; redriving again sends a new copy, and the
    // consumer's inbox applies the message once whatever reaches it.
    await this.publisher.publish(redriveSubject(dl.consumer), Buffer.from(dl.payload, 'base64'), {
      msgId: event.data.redriveMsgId,
      headers,
    });
    return dl;
  }

  /** Redrives every open dead letter of a consumer, at most `ratePerSecond` a second. */
  async redriveAll(
    consumer: string,
    change: Change & { ratePerSecond?: number },
  ): Promise<DeadLetter[]> {
    const open = await this.list({ consumer, status: 'open' });
    const gap = 1000 / (change.ratePerSecond ?? DEFAULT_REDRIVE_RATE);
    const done: DeadLetter[] = [];
    for (const dl of open) {
      const t = performance.now();
      done.push(await this.redrive(dl.id, { actor: change.actor, reason: change.reason }));
      const wait = gap - (performance.now() - t);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    return done;
  }

  /**
   * Records a dead letter of a message that was never delivered to `consumer`'s durable (a
   * rebuild met it while reading the stream): `id` must not be one an advisory takes (theirs
   * are `dl-<advisory sequence>`). Recording an id that exists adds nothing; returns whether
   * it added one.
   */
  async record(
    id: string,
    failed: {
      consumer: string;
      stream: string;
      seq: number;
      subject: string;
      headers: Record<string, string[]>;
      payload: Uint8Array;
      error: string;
      reason: string;
    },
  ): Promise<boolean> {
    let envelope: unknown = null;
    try {
      envelope = JSON.parse(new TextDecoder().decode(failed.payload));
    } catch {
      envelope = null;
    }
    const env = (envelope ?? {}) as { id?: unknown; correlationId?: unknown };
    const place = `${failed.stream}:${failed.seq}`;
    const at = new Date().toISOString();
    try {
      const r = await this.handler.handle(
        id,
        {
          type: 'Capture',
          data: {
            deadLetterId: id,
            consumer: failed.consumer,
            cause: 'terminated',
            stream: failed.stream,
            seq: failed.seq,
            subject: failed.subject,
            headers: failed.headers,
            payload: Buffer.from(failed.payload).toString('base64'),
            envelope,
            deliveries: 1,
            firstFailedAt: at,
            lastFailedAt: at,
            lastError: failed.error,
          },
          occurredAt: at,
          at,
          reason: failed.reason,
          correlationId: envelopeId(env.correlationId) ?? place,
          causationId: envelopeId(env.id) ?? place,
        },
        { expectedVersion: 0 },
      );
      return r.appended.length > 0;
    } catch (e) {
      if (e instanceof ConcurrencyError) return false; // recorded already
      throw e;
    }
  }

  /** Records that the message will not be applied; the record stays. */
  async discard(id: string, change: Change): Promise<DeadLetter> {
    return (await this.#change(id, 'Discard', change)).dl;
  }

  async #change(
    id: string,
    type: 'Redrive' | 'Discard',
    change: Change,
  ): Promise<{ dl: DeadLetter; appended: DeadLetterEvent[] }> {
    const { actor, reason } = change;
    const at = new Date().toISOString();
    try {
      const r = await this.handler.handle(id, { type, deadLetterId: id, actor, reason, at });
      if (!r.state) throw new DeadLetterNotFoundError(id);
      return { dl: r.state, appended: r.appended };
    } catch (e) {
      if (e instanceof ConcurrencyError) {
        throw new DeadLetterConflictError(
          `${id} was changed by someone else; look again and retry`,
        );
      }
      throw e;
    }
  }
}

/** An id taken from a message's envelope, where it is one an event may carry. */
function envelopeId(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 && v.length <= 128 ? v : undefined;
}
