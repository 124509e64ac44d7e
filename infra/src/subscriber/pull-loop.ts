import type { CohortEvent, EventParser } from '@cohort/contracts';
import type { ConsumerMessages } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import type { Connection } from '../connection.js';
import { NotConnectedError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { SqlStore } from '../store/sql-store.js';
import { FAILURES_BUCKET } from '../topology.js';
import { applyBatch, type Outcome } from './apply-batch.js';
import { DEFAULT_ACK_WAIT_MS, DEFAULT_BATCH_SIZE, DEFAULT_MAX_DELIVER } from './consumer.js';
import { DatabaseGate } from './database-gate.js';
import { Durable } from './durable.js';
import { errorText } from './failures.js';
import { INBOX_MIGRATIONS } from './inbox.js';
import type { SubscriberMetrics } from './metrics.js';
import {
  DEFAULT_BACKOFF_MS,
  DEFAULT_CONCURRENCY,
  DEFAULT_LINGER_MS,
  type SubscriberOptions,
} from './options.js';
import { addMessage, emptyBatch, type Item, type Prepared } from './prepared-batch.js';
import { projectionParser, type Projection } from './projection.js';
import { redriveConsumer } from './redrive.js';
import { FailureSettler } from './settle-failures.js';

/** Longest a pull request waits for messages; also the longest stop() waits for one. */
const FETCH_EXPIRES_MS = 2_000;
/** Pause after a failed fetch: a server restarting, or a deleted durable about to be recreated. */
const FETCH_RETRY_MS = 1_000;
/** How often consumer lag is read from the server (which also notices a deleted durable). */
const LAG_POLL_MS = 5_000;

/**
 * The durable subscriber: pulls from the projection's durable consumer (and from its
 * `<name>-redrive` durable, where redriven dead letters come back), applies micro-batches to the
 * projection in one transaction with an inbox row per message, commits, then acks.
 *
 * Guarantees: a message is acked only after its effect is committed; a redelivered message whose
 * key is already in the inbox is acked and skipped, so a crash anywhere neither loses nor
 * duplicates. A failing message is isolated from its batch and retried with growing delays
 * until max deliver; an invalid one, or one that fails permanently (see PermanentError), is
 * terminated at once. All are recorded in the FAILURES bucket with their error. While the
 * database is out of reach, fetching pauses until it answers. A deleted durable is recreated.
 */
export class Subscriber {
  readonly name: string;
  #started = false;
  #stopping = false;
  #signalStop!: () => void;
  /** Resolves on stop(): waits in the pull loop race it. */
  readonly #stopSignal = new Promise<void>((r) => (this.#signalStop = r));
  readonly #inFlight = new Set<Promise<void>>();
  readonly #concurrency: number;
  #loops: Promise<void>[] = [];
  #lagTimer: NodeJS.Timeout | undefined;
  #batches = 0;
  #failures: KV | undefined;
  readonly #main: Durable;
  readonly #redrive: Durable;
  readonly #gate: DatabaseGate;
  readonly #parse: EventParser<CohortEvent>;
  readonly #key: ((event: CohortEvent) => string) | undefined;
  readonly #batchSize: number;
  readonly #lingerMs: number;
  readonly #ackWaitMs: number;
  readonly #settle: FailureSettler;

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
    this.#ackWaitMs = projection.consumer.ackWaitMs ?? DEFAULT_ACK_WAIT_MS;
    this.#concurrency = opts.concurrency ?? DEFAULT_CONCURRENCY;
    this.#main = new Durable(conn, projection.consumer);
    // Redriven dead letters come back through a durable of their own, filtered to this
    // consumer, so no other subscriber of the original subject sees them again.
    this.#redrive = new Durable(conn, redriveConsumer(projection.consumer));
    this.#gate = new DatabaseGate(() => store.query('SELECT 1'), log, { consumer: this.name });
    this.#parse = projectionParser(projection);
    this.#key = projection.key?.bind(projection);
    this.#settle = new FailureSettler(
      this.name,
      () => this.#failures!,
      metrics,
      log,
      opts.backoffMs ?? DEFAULT_BACKOFF_MS,
      projection.consumer.maxDeliver ?? DEFAULT_MAX_DELIVER,
    );
  }

  /** True while both durables are attached, from start() until stop(). */
  get attached(): boolean {
    return this.#started && !this.#stopping && this.#main.attached && this.#redrive.attached;
  }

  /** False while the database is out of reach: nothing is fetched until it answers again. */
  get databaseAvailable(): boolean {
    return this.#gate.available;
  }

  /** Migrates, ensures both durables, and starts pulling. May be called again after it failed. */
  async start(): Promise<void> {
    if (this.#started || this.#stopping) return;
    await this.store.migrate('cohort', INBOX_MIGRATIONS);
    await this.store.migrate(this.name, this.projection.migrations);
    await this.#main.attach();
    await this.#redrive.attach();
    this.#failures = await new Kvm(this.conn.nc).open(FAILURES_BUCKET);
    if (this.#stopping) return; // stopped while starting: nothing to pull for
    this.#started = true;
    this.#loops = [this.#run(this.#main, false), this.#run(this.#redrive, true)];
    // Also notices a deleted durable: it is detached, and the pull loop recreates it.
    const pollLag = async () => {
      await this.#redrive.info().catch(() => undefined);
      try {
        this.metrics.lag.set({ consumer: this.name }, await this.lag());
      } catch {
        // lag is best effort
      }
    };
    void pollLag();
    this.#lagTimer = setInterval(() => void pollLag(), LAG_POLL_MS).unref();
  }

  /**
   * Messages not yet applied, read from the server now: those not yet delivered to the consumer
   * and those delivered but not yet acknowledged.
   */
  async lag(): Promise<number> {
    // At once while disconnected: a readiness probe must not wait out a request timeout.
    if (!this.conn.isConnected()) throw new NotConnectedError();
    const info = await this.#main.info();
    return info.num_pending + info.num_ack_pending;
  }

  /** Stops pulling, applies and acks what was already delivered, then resolves. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#signalStop();
    this.#gate.stop();
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
  async #run(durable: Durable, redriven: boolean): Promise<void> {
    let fetching: Promise<ConsumerMessages> | undefined;
    for (;;) {
      if (!fetching) {
        if (!(await this.#readyToFetch(durable))) break;
        fetching = this.#fetch(durable);
      }
      let batch = emptyBatch();
      try {
        const messages = await fetching;
        const it = messages[Symbol.asyncIterator]();
        fetching = undefined;
        let lingered: Promise<undefined> | undefined;
        let next = it.next();
        for (;;) {
          // Messages already received come without a wait: the linger is raced only when the
          // next one has yet to arrive, not once per message of a backlog.
          const waiting = lingered && messages.getPending() === 0;
          const r = waiting ? await Promise.race([next, lingered]) : await next;
          if (r === undefined) {
            await this.#submit(batch); // lingered long enough; `next` is still pending
            batch = emptyBatch();
            lingered = undefined;
            continue;
          }
          if (r.done) break;
          addMessage(batch, r.value, redriven, this.#parse, this.#key);
          if (batch.size >= this.#batchSize) break; // this fetch is complete
          if (batch.size === 1) lingered = sleep(this.#lingerMs);
          next = it.next();
        }
        if (!this.#stopping && this.#gate.available) fetching = this.#fetch(durable);
        const full = batch;
        batch = emptyBatch();
        if (full.size > 0) await this.#submit(full);
      } catch (e) {
        fetching = undefined;
        // What was delivered before the failure is applied and acked, not left to time out.
        if (batch.size > 0) await this.#submit(batch);
        if (this.#stopping) break;
        const gone = await durable.gone();
        const context = { err: errorText(e), consumer: durable.spec.name };
        if (gone) this.log.warn(context, 'durable consumer deleted; recreating it');
        else this.log.warn(context, 'fetch failed; retrying');
        await Promise.race([sleep(FETCH_RETRY_MS), this.#stopSignal]);
      }
    }
    await Promise.all(this.#inFlight);
  }

  /** A pull request; its failure is handled where it is awaited, perhaps a batch later. */
  #fetch(durable: Durable) {
    const fetching = durable.fetch(this.#batchSize, FETCH_EXPIRES_MS);
    fetching.catch(() => undefined);
    return fetching;
  }

  /**
   * Waits until the database is available and the durable attached (created again if it was
   * deleted); false once stopping.
   */
  async #readyToFetch(durable: Durable): Promise<boolean> {
    for (;;) {
      await Promise.race([this.#gate.whenOpen(), this.#stopSignal]);
      if (this.#stopping) return false;
      if (durable.attached) return true;
      try {
        await durable.attach();
        this.log.info({ consumer: durable.spec.name }, 'durable consumer attached');
      } catch (e) {
        const context = { err: errorText(e), consumer: durable.spec.name };
        this.log.warn(context, 'cannot attach the durable consumer; retrying');
        await Promise.race([sleep(FETCH_RETRY_MS), this.#stopSignal]);
      }
    }
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

  async #process({ size, items, invalid }: Prepared): Promise<void> {
    const started = performance.now();
    for (const { msg, meta, error } of invalid) await this.#settle.invalid(msg, meta, error);
    if (items.length === 0) return;
    if (!this.#gate.available) {
      // Fetched before the database went away: handed back for when it answers again.
      await this.#settle.handBack(items, `database unavailable: ${this.#gate.reason}`);
      return;
    }

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
    const unavailable = outcome.failed.filter((f) => f.kind === 'unavailable');
    if (unavailable.length > 0) {
      this.#gate.close(unavailable[0]!.error);
      await this.#settle.handBack(
        unavailable.map((f) => f.item),
        `database unavailable: ${unavailable[0]!.error}`,
      );
    }
    for (const { item, error, kind } of outcome.failed) {
      if (kind !== 'unavailable') await this.#settle.failed(item.msg, item.meta, error, kind);
    }
    const c = { consumer: this.name };
    this.metrics.applied.inc(c, outcome.applied.length);
    this.metrics.skipped.inc(c, outcome.skipped.length);
    this.metrics.batchSize.observe(c, size);
    this.metrics.batchSeconds.observe(c, (performance.now() - started) / 1000);
  }
}

function sleep(ms: number): Promise<undefined> {
  return new Promise((r) => setTimeout(() => r(undefined), ms));
}
