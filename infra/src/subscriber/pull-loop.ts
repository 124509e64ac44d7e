import { parseEvent } from '@cohort/contracts';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { Consumer, JsMsg } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import type { Connection } from '../connection.js';
import type { Logger } from '../logger.js';
import type { SqlStore } from '../store/sql-store.js';
import { FAILURES_BUCKET } from '../topology.js';
import { applyBatch, type BatchItem, type Outcome } from './apply-batch.js';
import {
  DEFAULT_ACK_WAIT_MS,
  DEFAULT_BATCH_SIZE,
  DEFAULT_MAX_DELIVER,
  ensureConsumer,
} from './consumer.js';
import { errorText, recordFailure, type FailureRecord } from './failures.js';
import { INBOX_MIGRATIONS } from './inbox.js';
import type { SubscriberMetrics } from './metrics.js';
import {
  DEFAULT_BACKOFF_MS,
  DEFAULT_CONCURRENCY,
  DEFAULT_LINGER_MS,
  type SubscriberOptions,
} from './options.js';
import type { EventMeta, Projection } from './projection.js';
import { deliveredMeta, redriveConsumer } from './redrive.js';

/** Longest a pull request waits for messages; also the longest stop() waits for one. */
const FETCH_EXPIRES_MS = 2_000;
/** How often consumer lag is read from the server. */
const LAG_POLL_MS = 5_000;

interface Item extends BatchItem {
  msg: JsMsg;
}

interface Prepared {
  size: number;
  items: Item[];
  invalid: { msg: JsMsg; meta: EventMeta; error: string }[];
}

function emptyBatch(): Prepared {
  return { size: 0, items: [], invalid: [] };
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
    this.#concurrency = opts.concurrency ?? DEFAULT_CONCURRENCY;
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
    const meta = deliveredMeta(msg, redriven);
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
    let outcome: Outcome<Item>;
    try {
      outcome = await applyBatch(this.store, this.projection, this.name, items);
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

  #recordFailure(msg: JsMsg, meta: EventMeta, error: string, kind: FailureRecord['kind']) {
    return recordFailure(this.#failures!, this.log, this.name, msg, meta, error, kind);
  }
}

function sleep(ms: number): Promise<undefined> {
  return new Promise((r) => setTimeout(() => r(undefined), ms));
}
