import {
  DeadLetterCaptured,
  DeadLetterEvent,
  deadLetterSubject,
  newEventId,
  redriveSubject,
  Streams,
} from '@cohort/contracts';
import type { Actor, DeadLetterDiscarded, DeadLetterRedriven } from '@cohort/contracts';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { Consumer, JetStreamClient, JetStreamManager, StoredMsg } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import type { Connection } from '../connection.js';
import { WrongLastSequenceError } from '../errors.js';
import type { Logger } from '../logger.js';
import { Publisher } from '../publisher.js';
import { failureKey, type FailureRecord } from '../subscriber/failures.js';
import { RedriveHeaders, redriveOrigin, redrivenConsumer } from '../subscriber/redrive.js';
import { FAILURES_BUCKET } from '../topology.js';
import { ensureConsumer } from '../subscriber/consumer.js';
import { readSubject } from '../read-subject.js';

/** The durable that turns advisories into dead letters; any process may run it. */
export const CAPTURE_CONSUMER = 'cohort-deadletters';
/** Redrives per second when sending back all open dead letters of a consumer. */
export const DEFAULT_REDRIVE_RATE = 50;
const SOURCE = 'cohort-deadletters';
const SYSTEM: Actor = { id: 'jetstream', role: 'system' };

export type DeadLetterStatus = 'open' | 'redriven' | 'discarded';
export const DEAD_LETTER_STATUSES: DeadLetterStatus[] = ['open', 'redriven', 'discarded'];

/** One change of a dead letter: who, when, why. */
export interface DeadLetterChange {
  action: 'captured' | 'redriven' | 'discarded';
  at: string;
  actor: Actor;
  reason: string | null;
  redriveMsgId?: string;
}

/** A dead letter as an operator sees it: the captured copy, its status, and its history. */
export interface DeadLetter extends Omit<DeadLetterCaptured['data'], 'deadLetterId'> {
  id: string;
  status: DeadLetterStatus;
  capturedAt: string;
  history: DeadLetterChange[];
}

export class DeadLetterNotFoundError extends Error {
  override readonly name = 'DeadLetterNotFoundError';
  constructor(readonly id: string) {
    super(`no dead letter ${id}`);
  }
}

/** The change is not allowed in the dead letter's status, or someone else changed it first. */
export class DeadLetterConflictError extends Error {
  override readonly name = 'DeadLetterConflictError';
}

export interface Change {
  actor: Actor;
  /** Why: required, kept forever. */
  reason: string;
}

interface Advisory {
  type: string;
  id: string;
  timestamp: string;
  stream: string;
  consumer: string;
  stream_seq: number;
  deliveries?: number;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * The dead-letter desk: captures JetStream's MAX_DELIVERIES and MSG_TERMINATED advisories (kept
 * by the ADVISORIES stream even while nothing runs) as dead letters in the DEADLETTERS stream,
 * with a copy of the original message and the subscriber's last error; lists and shows them;
 * redrives one or all of a consumer back to that consumer only; discards. Every change is an
 * event with actor, time and reason. Nothing is deleted.
 */
export class DeadLetterDesk {
  #capturing: Promise<void> | undefined;
  #stopping = false;

  private constructor(
    private readonly conn: Connection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly failures: KV,
    private readonly publisher: Publisher,
    private readonly capture: Consumer,
    private readonly log?: Logger,
  ) {}

  /** Needs the topology provisioned (ADVISORIES, DEADLETTERS, REDRIVE, FAILURES). */
  static async open(conn: Connection, log?: Logger): Promise<DeadLetterDesk> {
    const jsm = await jetstreamManager(conn.nc);
    await ensureConsumer(jsm, {
      stream: Streams.ADVISORIES.name,
      name: CAPTURE_CONSUMER,
      maxDeliver: -1,
    });
    const js = jetstream(conn.nc);
    return new DeadLetterDesk(
      conn,
      js,
      jsm,
      await new Kvm(conn.nc).open(FAILURES_BUCKET),
      new Publisher(conn),
      await js.consumers.get(Streams.ADVISORIES.name, CAPTURE_CONSUMER),
      log,
    );
  }

  /** Captures every advisory not captured yet; returns how many dead letters it added. */
  async captureAll(): Promise<number> {
    let added = 0;
    for (;;) {
      const pending = (await this.capture.info(false)).num_pending;
      if (pending === 0) return added;
      for await (const m of await this.capture.fetch({
        max_messages: Math.min(pending, 500),
        expires: 2_000,
      })) {
        if (await this.#captureOne(m.seq, m.json<Advisory>())) added++;
        m.ack();
      }
    }
  }

  /** Keeps capturing in the background until stop(). */
  startCapture(): void {
    this.#capturing ??= (async () => {
      while (!this.#stopping) {
        try {
          for await (const m of await this.capture.fetch({ max_messages: 100, expires: 2_000 })) {
            await this.#captureOne(m.seq, m.json<Advisory>());
            m.ack();
          }
        } catch (e) {
          if (this.#stopping) return;
          this.log?.warn({ err: (e as Error).message }, 'dead-letter capture failed; retrying');
          await new Promise((r) => setTimeout(r, 1_000));
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#capturing;
  }

  /** Returns false when that advisory was captured before (idempotent by advisory sequence). */
  async #captureOne(advisorySeq: number, a: Advisory): Promise<boolean> {
    const ownStreams: string[] = [Streams.ADVISORIES.name, Streams.DEADLETTERS.name];
    if (ownStreams.includes(a.stream)) return false;
    const id = `dl-${advisorySeq}`;
    const cause = a.type.endsWith('.terminated') ? 'terminated' : 'max_deliveries';
    const delivered = await this.#stored(a.stream, a.stream_seq);
    // A redriven copy that failed again is a dead letter of the original consumer and message.
    const isRedrive = a.stream === Streams.REDRIVE.name;
    const consumer = isRedrive ? redrivenConsumer(a.consumer) : a.consumer;
    const copy = { stream: a.stream, seq: a.stream_seq, subject: delivered?.subject ?? '' };
    const { stream, seq, subject } =
      isRedrive && delivered ? redriveOrigin(delivered.header, copy) : copy;
    const original = isRedrive ? ((await this.#stored(stream, seq)) ?? delivered) : delivered;
    const failureEntry = await this.failures.get(failureKey(a.consumer, a.stream_seq));
    const failure = failureEntry?.value.length ? failureEntry.json<FailureRecord>() : undefined;
    let envelope: unknown = null;
    try {
      envelope = original ? JSON.parse(dec.decode(original.data)) : null;
    } catch {
      envelope = null;
    }
    const at = new Date(a.timestamp).toISOString();
    const env = (envelope ?? {}) as { id?: unknown; correlationId?: unknown };
    const event: DeadLetterCaptured = {
      id: newEventId(),
      type: 'DeadLetterCaptured',
      version: 1,
      occurredAt: at,
      recordedAt: new Date().toISOString(),
      source: SOURCE,
      actor: SYSTEM,
      reason:
        cause === 'terminated'
          ? 'terminated by the subscriber: the message can never be applied'
          : `not applied after ${a.deliveries ?? failure?.deliveries ?? '?'} deliveries`,
      correlationId: typeof env.correlationId === 'string' ? env.correlationId : `${stream}:${seq}`,
      causationId: typeof env.id === 'string' ? env.id : `${stream}:${seq}`,
      data: {
        deadLetterId: id,
        consumer,
        cause,
        stream,
        seq,
        subject: original?.subject ?? subject ?? '(gone)',
        headers: original ? headersOf(original) : {},
        payload: original ? Buffer.from(original.data).toString('base64') : '',
        envelope,
        deliveries: a.deliveries ?? failure?.deliveries ?? 0,
        firstFailedAt: failure ? new Date(failure.firstFailedAt).toISOString() : at,
        lastFailedAt: failure ? new Date(failure.lastFailedAt).toISOString() : at,
        lastError:
          failure?.error ?? (original ? null : 'the original message is no longer in its stream'),
      },
    };
    try {
      await this.publisher.publish(
        deadLetterSubject(id),
        enc.encode(JSON.stringify(DeadLetterCaptured.parse(event))),
        {
          expectedLastSubjectSequence: 0,
          headers: { 'Cohort-Event-Type': event.type },
        },
      );
    } catch (e) {
      if (e instanceof WrongLastSequenceError) return false; // captured before
      throw e;
    }
    this.log?.warn({ deadLetterId: id, consumer, stream, seq, cause }, 'dead letter captured');
    return true;
  }

  async #stored(stream: string, seq: number): Promise<StoredMsg | null> {
    try {
      return await this.jsm.streams.getMessage(stream, { seq });
    } catch {
      return null;
    }
  }

  /** Dead letters, oldest first, optionally of one consumer and/or in one status. */
  async list(filter: { consumer?: string; status?: DeadLetterStatus } = {}): Promise<DeadLetter[]> {
    const all = fold(await this.#read(Streams.DEADLETTERS.subjects[0]));
    return [...all.values()].filter(
      (d) =>
        (!filter.consumer || d.consumer === filter.consumer) &&
        (!filter.status || d.status === filter.status),
    );
  }

  async get(id: string): Promise<DeadLetter> {
    return (await this.#load(id)).dl;
  }

  /** Sends the message back to the one consumer that failed it; applied through its inbox. */
  async redrive(id: string, change: Change): Promise<DeadLetter> {
    const { dl, lastSeq, events } = await this.#load(id);
    if (dl.status === 'discarded') {
      throw new DeadLetterConflictError(`${id} was discarded; it cannot be redriven`);
    }
    const n = dl.history.filter((h) => h.action === 'redriven').length + 1;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(dl.headers))
      if (!k.startsWith('Nats-') && v[0] !== undefined) headers[k] = v[0];
    Object.assign(headers, {
      [RedriveHeaders.stream]: dl.stream,
      [RedriveHeaders.seq]: String(dl.seq),
      [RedriveHeaders.subject]: dl.subject,
      [RedriveHeaders.deadLetter]: id,
    });
    const msgId = `${id}-redrive-${n}`;
    const event: DeadLetterRedriven = {
      ...this.#envelope(dl, change),
      type: 'DeadLetterRedriven',
      data: { deadLetterId: id, consumer: dl.consumer, redriveMsgId: msgId },
    };
    // Recorded first: a change that loses a race (a discard, another redrive) sends nothing.
    // If sending then fails, the error says retry; redriving again sends a new copy, and the
    // consumer's inbox applies the message once whatever reaches it.
    await this.#append(id, event, lastSeq);
    await this.publisher.publish(redriveSubject(dl.consumer), Buffer.from(dl.payload, 'base64'), {
      msgId,
      headers,
    });
    return fold([...events, { event }]).get(id)!;
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
      done.push(await this.redrive(dl.id, change));
      const wait = gap - (performance.now() - t);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    return done;
  }

  /** Records that the message will not be applied; the record stays. */
  async discard(id: string, change: Change): Promise<DeadLetter> {
    const { dl, lastSeq, events } = await this.#load(id);
    if (dl.status === 'discarded') throw new DeadLetterConflictError(`${id} is already discarded`);
    const event: DeadLetterDiscarded = {
      ...this.#envelope(dl, change),
      type: 'DeadLetterDiscarded',
      data: { deadLetterId: id, consumer: dl.consumer },
    };
    await this.#append(id, event, lastSeq);
    return fold([...events, { event }]).get(id)!;
  }

  #envelope(dl: DeadLetter, change: Change) {
    const now = new Date().toISOString();
    return {
      id: newEventId(),
      version: 1 as const,
      occurredAt: now,
      recordedAt: now,
      source: SOURCE,
      actor: change.actor,
      reason: change.reason,
      correlationId: dl.id,
      causationId: dl.id,
    };
  }

  async #append(id: string, event: DeadLetterEvent, lastSeq: number): Promise<void> {
    try {
      await this.publisher.publish(
        deadLetterSubject(id),
        enc.encode(JSON.stringify(DeadLetterEvent.parse(event))),
        {
          expectedLastSubjectSequence: lastSeq,
          headers: { 'Cohort-Event-Type': event.type },
        },
      );
    } catch (e) {
      if (e instanceof WrongLastSequenceError) {
        throw new DeadLetterConflictError(
          `${id} was changed by someone else; look again and retry`,
        );
      }
      throw e;
    }
  }

  async #load(
    id: string,
  ): Promise<{ dl: DeadLetter; lastSeq: number; events: { event: DeadLetterEvent }[] }> {
    const msgs = await this.#read(deadLetterSubject(id));
    const dl = fold(msgs).get(id);
    if (!dl) throw new DeadLetterNotFoundError(id);
    return { dl, lastSeq: msgs[msgs.length - 1]!.seq, events: msgs };
  }

  /** Every message of DEADLETTERS on `filter`, in order. */
  async #read(filter: string): Promise<{ seq: number; event: DeadLetterEvent }[]> {
    const info = await this.jsm.streams.info(Streams.DEADLETTERS.name, { subjects_filter: filter });
    const expected = Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
    const out: { seq: number; event: DeadLetterEvent }[] = [];
    for (const m of await readSubject(this.js, Streams.DEADLETTERS.name, filter, expected)) {
      const parsed = DeadLetterEvent.safeParse(m.json());
      if (parsed.success) out.push({ seq: m.seq, event: parsed.data });
    }
    return out;
  }
}

function headersOf(m: StoredMsg): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const k of m.header.keys()) out[k] = m.header.values(k);
  return out;
}

/** Folds the events of DEADLETTERS into dead letters, by id. */
function fold(events: { event: DeadLetterEvent }[]): Map<string, DeadLetter> {
  const all = new Map<string, DeadLetter>();
  for (const { event: e } of events) {
    const change = { at: e.recordedAt, actor: e.actor, reason: e.reason ?? null };
    if (e.type === 'DeadLetterCaptured') {
      const { deadLetterId, ...rest } = e.data;
      all.set(deadLetterId, {
        id: deadLetterId,
        ...rest,
        status: 'open',
        capturedAt: e.recordedAt,
        history: [{ action: 'captured', ...change }],
      });
      continue;
    }
    const dl = all.get(e.data.deadLetterId);
    if (!dl) continue;
    if (e.type === 'DeadLetterRedriven') {
      dl.status = 'redriven';
      dl.history.push({ action: 'redriven', ...change, redriveMsgId: e.data.redriveMsgId });
    } else {
      dl.status = 'discarded';
      dl.history.push({ action: 'discarded', ...change });
    }
  }
  return all;
}
