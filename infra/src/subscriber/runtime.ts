import { parseEvent, redriveSubject, Streams } from '@cohort/contracts';
import type { CohortEvent } from '@cohort/contracts';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { Consumer, JsMsg } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import type { Connection } from '../connection.js';
import type { Logger } from '../logger.js';
import type { Migration, Sql, SqlStore } from '../store/sql-store.js';
import { FAILURES_BUCKET } from '../topology.js';
import {
  DEFAULT_ACK_WAIT_MS,
  DEFAULT_BATCH_SIZE,
  DEFAULT_MAX_DELIVER,
  ensureConsumer,
  type ConsumerSpec,
} from './consumer.js';

/** Where a message came from and how often it has been delivered. */
export interface EventMeta {
  stream: string;
  /** Stream sequence: a total order within the stream. */
  seq: number;
  subject: string;
  /** 1 on first delivery. */
  deliveries: number;
}

export interface Envelope<E = CohortEvent> {
  event: E;
  meta: EventMeta;
}

/**
 * A read model fed by one durable consumer.
 *
 * Contract: `apply` (and `applyBatch`, when given) runs inside the runtime's transaction, together
 * with the inbox row of each message; a throw rolls back that message's work only. Every event of
 * the stream (after the filter) arrives, of every type; ignore the ones you do not need. Order is
 * the stream's within one batch; across instances and redeliveries it is not guaranteed, so
 * decide by stream sequence or event time where order matters.
 */
export interface Projection {
  /** The durable consumer (its name is `<service>-<projection>`, never renamed). */
  consumer: ConsumerSpec;
  /** Tables of this projection, versioned in the namespace of the consumer name. */
  migrations: Migration[];
  /** The idempotency key: a second message with the same key is skipped. Default: the event id. */
  key?(event: CohortEvent): string;
  apply(tx: Sql, event: CohortEvent, meta: EventMeta): Promise<void>;
  /** Optional set-based form of `apply` for whole batches; must have the same effect. */
  applyBatch?(tx: Sql, items: Envelope[]): Promise<void>;
}

export interface SubscriberOptions {
  /** Most messages per transaction. */
  batchSize?: number;
  /** How long a partial batch waits for more messages before it is applied. */
  lingerMs?: number;
  /** Delays before redelivering a failed message, by delivery count; the last one repeats. */
  backoffMs?: number[];
  /**
   * Batches handed to the database at once (default 2): the next one is waiting when the last
   * commits, and the database works on another core (a PostgreSQL server, or PGlite's worker
   * thread) while this process acks, receives and parses. Batches may then commit out of order
   * (on PostgreSQL, and on PGlite when a batch's retry queues behind the next batch):
   * projections decide by key, sequence or time, never by arrival.
   */
  concurrency?: number;
  /** Test-only fault injection: called after each commit, before the acks. */
  afterCommit?: (batch: number) => void;
}

/** Growing delays ride out a database restart without hammering it. */
export const DEFAULT_BACKOFF_MS = [1_000, 2_000, 5_000, 10_000, 30_000, 60_000];
/** A batch waits this long to fill: imperceptible to a reader, large enough to batch a burst. */
export const DEFAULT_LINGER_MS = 20;
/** Longest a pull request waits for messages; also the longest stop() waits for one. */
const FETCH_EXPIRES_MS = 2_000;
/** How often consumer lag is read from the server. */
const LAG_POLL_MS = 5_000;

/** The runtime's own tables: one inbox row per applied idempotency key, per consumer. */
export const INBOX_MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'inbox',
    sql: `CREATE TABLE cohort_inbox (
      consumer text NOT NULL,
      key text NOT NULL,
      stream_seq bigint NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (consumer, key)
    )`,
  },
  {
    version: 2,
    // Keys are identifiers, not words: byte order compares them much faster than a locale.
    name: 'inbox keys in byte order',
    sql: `ALTER TABLE cohort_inbox
      ALTER COLUMN consumer TYPE text COLLATE "C",
      ALTER COLUMN key TYPE text COLLATE "C"`,
  },
];

interface Item extends Envelope {
  msg: JsMsg;
  key: string;
}

interface Prepared {
  size: number;
  items: Item[];
  invalid: { msg: JsMsg; meta: EventMeta; error: string }[];
}

function emptyBatch(): Prepared {
  return { size: 0, items: [], invalid: [] };
}

interface Outcome {
  applied: Item[];
  skipped: Item[];
  failed: { item: Item; error: string }[];
}

/** Metrics of every subscriber in a service, labelled by consumer. */
export class SubscriberMetrics {
  readonly applied: Counter<'consumer'>;
  readonly skipped: Counter<'consumer'>;
  readonly failed: Counter<'consumer' | 'kind'>;
  readonly batchSize: Histogram<'consumer'>;
  readonly batchSeconds: Histogram<'consumer'>;
  readonly lag: Gauge<'consumer'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.applied = new Counter({
      name: 'cohort_subscriber_applied_total',
      help: 'Messages applied to the projection',
      labelNames: ['consumer'],
      registers,
    });
    this.skipped = new Counter({
      name: 'cohort_subscriber_skipped_total',
      help: 'Messages skipped because their idempotency key was already applied',
      labelNames: ['consumer'],
      registers,
    });
    this.failed = new Counter({
      name: 'cohort_subscriber_failed_total',
      help: 'Failed deliveries: handler errors (retried) and invalid messages (terminated)',
      labelNames: ['consumer', 'kind'],
      registers,
    });
    this.batchSize = new Histogram({
      name: 'cohort_subscriber_batch_size',
      help: 'Messages per batch',
      labelNames: ['consumer'],
      buckets: [1, 5, 10, 50, 100, 250, 500, 1000],
      registers,
    });
    this.batchSeconds = new Histogram({
      name: 'cohort_subscriber_batch_seconds',
      help: 'Time to apply, commit and ack one batch',
      labelNames: ['consumer'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.lag = new Gauge({
      name: 'cohort_subscriber_lag',
      help: 'Messages in the stream not yet delivered to the consumer',
      labelNames: ['consumer'],
      registers,
    });
  }
}

/** What the runtime keeps of a failing message, for the dead-letter desk. */
export interface FailureRecord {
  consumer: string;
  stream: string;
  seq: number;
  subject: string;
  deliveries: number;
  error: string;
  /** `handler` (retried) or `invalid` (terminated at once). */
  kind: 'handler' | 'invalid';
  firstFailedAt: string;
  lastFailedAt: string;
}

/**
 * The durable subscriber: pulls from the projection's durable consumer (and from its
 * `<name>-redrive` durable, where redriven dead letters come back), applies micro-batches to the
 * projection in one transaction with an inbox row per message, commits, then acks.
 *
 * Guarantees: a message is acked only after its effect is committed; a redelivered message whose
 * key is already in the inbox is acked and skipped, so a crash anywhere neither loses nor
 * duplicates. A failing message is isolated from its batch and retried with growing delays
 * until max deliver; an invalid one is terminated at once. Both are recorded in the FAILURES
 * bucket with their error.
 */
export class Subscriber {
  readonly name: string;
  #consumer: Consumer | undefined;
  #stopping = false;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #concurrency: number;
  #loops: Promise<void>[] = [];
  #lagTimer: NodeJS.Timeout | undefined;
  #batches = 0;
  #failures: KV | undefined;
  readonly #batchSize: number;
  readonly #lingerMs: number;
  readonly #backoff: number[];
  readonly #maxDeliver: number;
  readonly #ackWaitMs: number;

  constructor(
    private readonly conn: Connection,
    private readonly store: SqlStore,
    private readonly projection: Projection,
    private readonly metrics: SubscriberMetrics,
    private readonly log: Logger,
    private readonly opts: SubscriberOptions = {},
  ) {
    this.name = projection.consumer.name;
    this.#batchSize = opts.batchSize ?? DEFAULT_BATCH_SIZE;
    this.#lingerMs = opts.lingerMs ?? DEFAULT_LINGER_MS;
    this.#backoff = opts.backoffMs ?? DEFAULT_BACKOFF_MS;
    this.#maxDeliver = projection.consumer.maxDeliver ?? DEFAULT_MAX_DELIVER;
    this.#ackWaitMs = projection.consumer.ackWaitMs ?? DEFAULT_ACK_WAIT_MS;
    this.#concurrency = opts.concurrency ?? 2;
  }

  /** True once the consumer is attached and until stop() is called. */
  get attached(): boolean {
    return this.#consumer !== undefined && !this.#stopping;
  }

  /** Migrates, ensures the durable, and starts pulling. */
  async start(): Promise<void> {
    await this.store.migrate('cohort', INBOX_MIGRATIONS);
    await this.store.migrate(this.name, this.projection.migrations);
    const jsm = await jetstreamManager(this.conn.nc);
    await ensureConsumer(jsm, this.projection.consumer);
    // Redriven dead letters come back through a durable of their own, filtered to this
    // consumer, so no other subscriber of the original subject sees them again.
    const redrive = redriveConsumer(this.projection.consumer);
    await ensureConsumer(jsm, redrive);
    this.#failures = await new Kvm(this.conn.nc).open(FAILURES_BUCKET);
    const js = jetstream(this.conn.nc);
    const consumer = await js.consumers.get(this.projection.consumer.stream, this.name);
    this.#consumer = consumer;
    const redriven = await js.consumers.get(redrive.stream, redrive.name);
    this.#loops = [this.#run(consumer, false), this.#run(redriven, true)];
    const pollLag = async () => {
      try {
        const info = await consumer.info(false); // from the server: the cached copy never moves
        this.metrics.lag.set({ consumer: this.name }, info.num_pending);
      } catch {
        // lag is best effort
      }
    };
    void pollLag();
    this.#lagTimer = setInterval(() => void pollLag(), LAG_POLL_MS).unref();
  }

  /** Messages in the stream not yet delivered to the consumer, read from the server now. */
  async lag(): Promise<number> {
    const info = await this.#consumer!.info(false);
    return info.num_pending;
  }

  /** Stops pulling, applies and acks what was already delivered, then resolves. */
  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#lagTimer) clearInterval(this.#lagTimer);
    await Promise.all(this.#loops);
    // Acks are fire-and-forget publishes: make sure the server has them before we report done.
    if (!this.conn.nc.isClosed()) await this.conn.nc.flush().catch(() => undefined);
  }

  /**
   * Pulls with fetch requests of one batch each, never more: every message the server has
   * delivered belongs to a batch that is applied and acked, also on stop (none is left to wait
   * out its ack wait). The next fetch is requested as soon as the current one is complete, so
   * it arrives while the batch is in the database. Each message is parsed as it arrives, in
   * small steps between the database's answers. A partial batch is applied once it has
   * lingered `lingerMs`.
   */
  async #run(consumer: Consumer, redriven: boolean): Promise<void> {
    const fetchBatch = () =>
      consumer.fetch({ max_messages: this.#batchSize, expires: FETCH_EXPIRES_MS });
    let fetching: ReturnType<typeof fetchBatch> | undefined = fetchBatch();
    while (fetching) {
      let batch = emptyBatch();
      try {
        const it = (await fetching)[Symbol.asyncIterator]();
        fetching = undefined;
        let lingered: Promise<undefined> | undefined;
        let next = it.next();
        for (;;) {
          const r = lingered ? await Promise.race([next, lingered]) : await next;
          if (r === undefined) {
            await this.#submit(batch); // lingered long enough; `next` is still pending
            batch = emptyBatch();
            lingered = undefined;
            continue;
          }
          if (r.done) break;
          this.#add(batch, r.value, redriven);
          if (batch.size >= this.#batchSize) break; // this fetch is complete
          if (batch.size === 1) lingered = sleep(this.#lingerMs);
          next = it.next();
        }
        if (!this.#stopping) fetching = fetchBatch();
        const full = batch;
        batch = emptyBatch();
        if (full.size > 0) await this.#submit(full);
      } catch (e) {
        // What was delivered before the failure is applied and acked, not left to time out.
        if (batch.size > 0) await this.#submit(batch);
        if (this.#stopping) break;
        this.log.warn({ err: errorText(e), consumer: this.name }, 'fetch failed; retrying');
        await sleep(1_000);
        fetching = fetchBatch();
      }
    }
    await Promise.all(this.#inFlight);
  }

  /** Applies a batch once fewer than `concurrency` batches are in the database. */
  async #submit(batch: Prepared): Promise<void> {
    while (this.#inFlight.size >= this.#concurrency) await Promise.race(this.#inFlight);
    const p: Promise<void> = this.#process(batch)
      .catch((e: unknown) => {
        // Unreachable unless acking itself fails; unacked messages are redelivered.
        this.log.error({ err: errorText(e), consumer: this.name }, 'batch failed');
      })
      .finally(() => this.#inFlight.delete(p));
    this.#inFlight.add(p);
  }

  /** Parses one delivered message into the batch: an item to apply, or an invalid one. */
  #add(batch: Prepared, msg: JsMsg, redriven: boolean): void {
    batch.size++;
    const parsed = parseEvent(msg.data);
    const meta = redriven ? redrivenMeta(msg) : deliveredMeta(msg);
    if (!parsed.ok) {
      const error = `${parsed.error.message}: ${parsed.error.issues
        .map((i) => `${i.path || '(root)'} ${i.message}`)
        .join('; ')}`;
      batch.invalid.push({ msg, meta, error });
      return;
    }
    const key = this.projection.key?.(parsed.event) ?? parsed.event.id;
    batch.items.push({ msg, event: parsed.event, meta, key });
  }

  async #process({ size, items, invalid }: Prepared): Promise<void> {
    const started = performance.now();
    for (const { msg, meta, error } of invalid) {
      this.metrics.failed.inc({ consumer: this.name, kind: 'invalid' });
      // The reason is recorded here, not given to term(): servers before 2.10 do not take one.
      await this.#recordFailure(msg, meta, error, 'invalid');
      msg.term();
    }
    if (items.length === 0) return;

    const keepAlive = setInterval(
      () => items.forEach((i) => i.msg.working()),
      Math.max(1_000, this.#ackWaitMs / 3),
    );
    let outcome: Outcome;
    try {
      outcome = await this.#apply(items);
      this.opts.afterCommit?.(++this.#batches);
    } finally {
      clearInterval(keepAlive);
    }

    for (const i of outcome.applied) i.msg.ack();
    for (const i of outcome.skipped) i.msg.ack();
    for (const { item, error } of outcome.failed) {
      const d = item.meta.deliveries;
      this.metrics.failed.inc({ consumer: this.name, kind: 'handler' });
      this.log.warn(
        {
          consumer: this.name,
          seq: item.meta.seq,
          deliveries: d,
          maxDeliver: this.#maxDeliver,
          error,
        },
        'message failed',
      );
      // Recorded before the nak: after the last one the server raises MAX_DELIVERIES, and the
      // dead-letter capture reads this record.
      await this.#recordFailure(item.msg, item.meta, error, 'handler');
      item.msg.nak(this.#backoff[Math.min(d - 1, this.#backoff.length - 1)]);
    }
    const c = { consumer: this.name };
    this.metrics.applied.inc(c, outcome.applied.length);
    this.metrics.skipped.inc(c, outcome.skipped.length);
    this.metrics.batchSize.observe(c, size);
    this.metrics.batchSeconds.observe(c, (performance.now() - started) / 1000);
  }

  /**
   * One transaction for the whole batch. Almost every batch is new: its inbox rows are inserted
   * outright, which fails on a key already applied (a redelivery, a second copy). Then once more
   * with the keys checked one by one. If the projection fails, the batch is applied once more
   * with a savepoint per message to isolate the failing one.
   */
  async #apply(items: Item[]): Promise<Outcome> {
    const unique = firstOfEachKey(items);
    const done = (applied: Item[]): Outcome => {
      const set = new Set(applied);
      return { applied, skipped: items.filter((i) => !set.has(i)), failed: [] };
    };
    try {
      return done(
        await this.store.transaction(async (tx) => {
          // Not awaited: the projection's statements queue behind the inbox insert, and fail
          // with it, so the whole batch costs the database one wait fewer.
          const claimed = this.#claimAll(tx, unique);
          claimed.catch(() => undefined);
          try {
            await this.#applyFresh(tx, unique);
          } finally {
            await claimed; // the inbox's failure, if any, is the reason to report
          }
          return unique;
        }),
      );
    } catch (e) {
      if (!(e instanceof AlreadyApplied)) return this.#isolate(items, e);
    }
    try {
      return done(
        await this.store.transaction(async (tx) => {
          const fresh = await this.#claimNew(tx, unique);
          await this.#applyFresh(tx, fresh);
          return fresh;
        }),
      );
    } catch (e) {
      return this.#isolate(items, e);
    }
  }

  /** Applies a batch that failed as a whole again, one savepoint per message. */
  async #isolate(items: Item[], batchError: unknown): Promise<Outcome> {
    if (items.length === 1)
      return {
        applied: [],
        skipped: [],
        failed: [{ item: items[0]!, error: errorText(batchError) }],
      };
    const outcome: Outcome = { applied: [], skipped: [], failed: [] };
    try {
      await this.store.transaction(async (tx) => {
        for (const item of items) {
          await tx.query('SAVEPOINT cohort_item');
          try {
            const fresh = await this.#claimNew(tx, [item]);
            if (fresh.length === 0) outcome.skipped.push(item);
            else {
              await this.projection.apply(tx, item.event, item.meta);
              outcome.applied.push(item);
            }
            await tx.query('RELEASE SAVEPOINT cohort_item');
          } catch (e) {
            await tx.query('ROLLBACK TO SAVEPOINT cohort_item');
            outcome.failed.push({ item, error: errorText(e) });
          }
        }
      });
    } catch (e) {
      // The database itself failed (not one message): every message is retried.
      const error = errorText(e);
      return { applied: [], skipped: [], failed: items.map((item) => ({ item, error })) };
    }
    return outcome;
  }

  async #applyFresh(tx: Sql, fresh: Item[]): Promise<void> {
    if (this.projection.applyBatch) await this.projection.applyBatch(tx, fresh);
    else for (const i of fresh) await this.projection.apply(tx, i.event, i.meta);
  }

  /** Claims every item's key (unique within the batch), failing if any was applied before. */
  async #claimAll(tx: Sql, unique: Item[]): Promise<void> {
    if (unique.length === 0) return;
    await insertInbox(
      tx,
      this.name,
      unique.map((i) => i.key),
      unique.map((i) => i.meta.seq),
    ).catch((e: unknown) => {
      // Only a key already there sends the batch to the key-by-key claim; any other failure
      // goes straight to isolation, like a failing projection.
      throw (e as { code?: string }).code === UNIQUE_VIOLATION ? new AlreadyApplied(e) : e;
    });
  }

  /** Inserts the inbox rows of keys not yet applied; returns their items. */
  async #claimNew(tx: Sql, unique: Item[]): Promise<Item[]> {
    if (unique.length === 0) return [];
    const { rows } = await tx.query<{ key: string }>(
      `INSERT INTO cohort_inbox (consumer, key, stream_seq)
       SELECT $1, k, s FROM unnest($2::text[], $3::bigint[]) AS t(k, s) ORDER BY k
       ON CONFLICT DO NOTHING RETURNING key`,
      [this.name, unique.map((i) => i.key), unique.map((i) => i.meta.seq)],
    );
    const inserted = new Set(rows.map((r) => r.key));
    return unique.filter((i) => inserted.has(i.key));
  }

  /** Keyed by the durable that delivered the message and its sequence in that stream. */
  async #recordFailure(
    msg: JsMsg,
    meta: EventMeta,
    error: string,
    kind: FailureRecord['kind'],
  ): Promise<void> {
    const key = failureKey(msg.info.consumer, msg.seq);
    const now = new Date().toISOString();
    try {
      const kv = this.#failures!;
      const previous = await kv.get(key);
      const first = previous?.value.length ? previous.json<FailureRecord>().firstFailedAt : now;
      const record: FailureRecord = {
        consumer: this.name,
        stream: meta.stream,
        seq: meta.seq,
        subject: meta.subject,
        deliveries: meta.deliveries,
        error: error.slice(0, 4_000),
        kind,
        firstFailedAt: first,
        lastFailedAt: now,
      };
      await kv.put(key, JSON.stringify(record));
    } catch (e) {
      this.log.error({ err: e, consumer: this.name, seq: meta.seq }, 'could not record failure');
    }
  }
}

/**
 * Inserts an inbox row per key (keys unique within the call) for `consumer`, failing if any key
 * is there already. Rows go in key order, so concurrent batches cannot deadlock. Exported for the
 * projection benchmark, which measures the subscriber's database work without NATS.
 */
export async function insertInbox(
  tx: Sql,
  consumer: string,
  keys: string[],
  seqs: number[],
): Promise<void> {
  await tx.query(
    `INSERT INTO cohort_inbox (consumer, key, stream_seq)
     SELECT $1, k, s FROM unnest($2::text[], $3::bigint[]) AS t(k, s) ORDER BY k`,
    [consumer, keys, seqs],
  );
}

/** PostgreSQL's SQLSTATE for a duplicate key (PGlite's errors carry it too). */
const UNIQUE_VIOLATION = '23505';

/** A batch's inbox insert found a key applied before. */
class AlreadyApplied extends Error {
  constructor(cause: unknown) {
    super('an idempotency key of the batch is already in the inbox', { cause });
  }
}

/** The first item of each idempotency key, in batch order: later copies are skipped. */
function firstOfEachKey(items: Item[]): Item[] {
  const first = new Map<string, Item>();
  for (const i of items) if (!first.has(i.key)) first.set(i.key, i);
  return [...first.values()];
}

/** The FAILURES key of a message: the durable that delivered it and its stream sequence. */
export function failureKey(durable: string, streamSeq: number): string {
  return `${durable}.${streamSeq}`;
}

/** Headers a redriven copy carries, naming where the original is. */
export const RedriveHeaders = {
  stream: 'Cohort-Redrive-Stream',
  seq: 'Cohort-Redrive-Seq',
  subject: 'Cohort-Redrive-Subject',
  deadLetter: 'Cohort-Dead-Letter',
} as const;

const REDRIVE_SUFFIX = '-redrive';

/** The durable through which redriven dead letters of `spec` come back. */
export function redriveConsumer(spec: ConsumerSpec): ConsumerSpec {
  return {
    ...spec,
    stream: Streams.REDRIVE.name,
    name: `${spec.name}${REDRIVE_SUFFIX}`,
    filterSubject: redriveSubject(spec.name),
  };
}

/** The consumer whose dead letters the redrive durable `name` brings back. */
export function redrivenConsumer(name: string): string {
  return name.endsWith(REDRIVE_SUFFIX) ? name.slice(0, -REDRIVE_SUFFIX.length) : name;
}

/** Where a redriven copy came from, by its headers; the copy's own place where they are missing. */
export function redriveOrigin(
  headers: { get(name: string): string } | undefined,
  copy: { stream: string; seq: number; subject: string },
): { stream: string; seq: number; subject: string } {
  const seq = Number(headers?.get(RedriveHeaders.seq));
  return {
    stream: headers?.get(RedriveHeaders.stream) || copy.stream,
    seq: Number.isInteger(seq) && seq > 0 ? seq : copy.seq,
    subject: headers?.get(RedriveHeaders.subject) || copy.subject,
  };
}

function deliveredMeta(msg: JsMsg): EventMeta {
  return {
    stream: msg.info.stream,
    seq: msg.seq,
    subject: msg.subject,
    deliveries: msg.info.deliveryCount,
  };
}

/** A redriven copy is applied as the original: its stream, sequence and subject. */
function redrivenMeta(msg: JsMsg): EventMeta {
  const copy = { stream: msg.info.stream, seq: msg.seq, subject: msg.subject };
  return { ...redriveOrigin(msg.headers, copy), deliveries: msg.info.deliveryCount };
}

function sleep(ms: number): Promise<undefined> {
  return new Promise((r) => setTimeout(() => r(undefined), ms));
}

function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/**
 * Subscriber settings from the environment: `SUBSCRIBER_BATCH_SIZE`, `SUBSCRIBER_LINGER_MS`,
 * `SUBSCRIBER_MAX_DELIVER`, `SUBSCRIBER_ACK_WAIT_MS`, `SUBSCRIBER_MAX_ACK_PENDING`,
 * `SUBSCRIBER_BACKOFF_MS` (comma-separated), `SUBSCRIBER_CONCURRENCY`.
 */
export function subscriberOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): {
  consumer: Partial<Pick<ConsumerSpec, 'maxDeliver' | 'ackWaitMs' | 'maxAckPending'>>;
  runtime: SubscriberOptions;
} {
  const int = (k: string) => {
    const v = env[k];
    if (v === undefined || v === '') return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0)
      throw new Error(`${k} must be a whole number, got ${JSON.stringify(v)}`);
    return n;
  };
  const defined = <T extends object>(o: T) =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  const backoff = env.SUBSCRIBER_BACKOFF_MS?.split(',').map((x) => Number(x.trim()));
  if (backoff?.some((n) => !Number.isFinite(n) || n < 0)) {
    throw new Error('SUBSCRIBER_BACKOFF_MS must be comma-separated milliseconds');
  }
  return {
    consumer: defined({
      maxDeliver: int('SUBSCRIBER_MAX_DELIVER'),
      ackWaitMs: int('SUBSCRIBER_ACK_WAIT_MS'),
      maxAckPending: int('SUBSCRIBER_MAX_ACK_PENDING'),
    }),
    runtime: defined({
      batchSize: int('SUBSCRIBER_BATCH_SIZE'),
      lingerMs: int('SUBSCRIBER_LINGER_MS'),
      concurrency: int('SUBSCRIBER_CONCURRENCY'),
      backoffMs: backoff,
    }),
  };
}

/**
 * Test-only fault injection from the environment: `COHORT_FAULT_KILL_AFTER_COMMIT=<n>` kills
 * the process with SIGKILL after its n-th commit, before that batch is acked.
 */
export function faultsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): Pick<SubscriberOptions, 'afterCommit'> {
  const n = Number(env.COHORT_FAULT_KILL_AFTER_COMMIT);
  if (!Number.isInteger(n) || n < 1) return {};
  return {
    afterCommit: (batch) => {
      if (batch >= n) process.kill(process.pid, 'SIGKILL');
    },
  };
}
