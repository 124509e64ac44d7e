import type { Actor } from '@cohort/contracts';
import { jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import type { Connection } from '../connection.js';
import type { DeadLetterDesk } from '../deadletters/desk.js';
import type { Logger } from '../logger.js';
import type { SqlStore } from '../store/sql-store.js';
import { applyBatch } from '../subscriber/apply-batch.js';
import { DEFAULT_BATCH_SIZE } from '../subscriber/consumer.js';
import { errorText } from '../subscriber/failures.js';
import { INBOX_MIGRATIONS } from '../subscriber/inbox.js';
import { addMessage, emptyBatch, type Item } from '../subscriber/prepared-batch.js';
import { projectionParser, type Projection } from '../subscriber/projection.js';
import { recordRebuildDeadLetter } from './dead-letter.js';
import {
  claimLease,
  LeaseLost,
  migrateRebuilds,
  RebuildRunning,
  finish,
  readRecord,
  REBUILD_HEARTBEAT_MS,
  REBUILD_LEASE_MS,
  recordProgress,
  type OnFailure,
  type Progress,
  type RebuildRecord,
} from './record.js';
import { dropShadow, liveSchema, prepareShadow, shadowSchemaName } from './shadow.js';
import { StreamReader, streamExtent } from './stream-reader.js';
import { ShadowBehind, swapShadow } from './swap.js';

/** Tries of a message that fails with a transient error before it counts as failed. */
const TRANSIENT_TRIES = 3;
/** Pause before trying again after the database or NATS failed: long enough not to spin. */
const RETRY_MS = 1_000;

export interface RebuildDeps {
  conn: Connection;
  /** The service's store, whose unqualified names are the live read models. */
  store: SqlStore;
  /** The projection as the service runs it (its durable's settings applied). */
  projection: Projection;
  log: Logger;
  /** Where an event the rebuild cannot apply is recorded, when started with `dead-letter`. */
  desk?: DeadLetterDesk;
  batchSize?: number;
  leaseMs?: number;
  heartbeatMs?: number;
  /** Test-only: called after each batch's progress is recorded. */
  afterBatch?: (progress: RebuildRecord['appliedSeq']) => void;
}

export interface RebuildRequest {
  /** Who started it (the verified caller). */
  actor: Actor;
  reason: string;
  onFailure: OnFailure;
}

/**
 * One rebuild of a projection: builds its read model again into a shadow schema beside the
 * live one, from the projection's own migrations and every message of its stream from
 * sequence 1 (or from where an interrupted rebuild stopped), applied with the same batch, inbox
 * and outbox as live delivery, so copies and redeliveries fold alike. Once it has read all
 * there is and holds everything the live consumer has applied, the shadow is swapped in (see
 * swapShadow) and live delivery goes on from its durable. Effects the projection queues are
 * merged by id at the swap: none already decided live is carried out again.
 *
 * An event it cannot apply (invalid, a permanent error, or a transient one TRANSIENT_TRIES
 * times) stops it as `failed` with the event's stream sequence; started with `dead-letter`,
 * it is recorded at the dead-letter desk instead and the rebuild goes on.
 */
export class Rebuild {
  #stopping = false;
  #wake: () => void = () => undefined;
  readonly #owner = `rebuild-${crypto.randomUUID()}`;
  readonly #batchSize: number;
  readonly #consumer: string;
  /** Settles with the rebuild's record once it has swapped, failed, been stopped or lost its lease. */
  done!: Promise<RebuildRecord>;

  private constructor(
    private readonly deps: RebuildDeps,
    private readonly request: RebuildRequest,
  ) {
    this.#batchSize = deps.batchSize ?? DEFAULT_BATCH_SIZE;
    this.#consumer = deps.projection.consumer.name;
  }

  /** Takes the projection's lease (else throws RebuildRunning), prepares the shadow, and starts. */
  static async start(deps: RebuildDeps, request: RebuildRequest): Promise<Rebuild> {
    const job = new Rebuild(deps, request);
    const claimed = await job.#claim();
    job.done = job.#run(claimed);
    return job;
  }

  /** Stops after the batch in hand, as `interrupted`: started again, it resumes. */
  async stop(): Promise<RebuildRecord> {
    this.#stopping = true;
    this.#wake();
    return this.done;
  }

  async #claim(): Promise<{ record: RebuildRecord; shadow: string; live: string }> {
    const { store, projection, conn } = this.deps;
    await migrateRebuilds(store);
    await store.migrate('cohort', INBOX_MIGRATIONS); // the live inbox the swap hands over to
    const live = await liveSchema(store);
    const shadow = shadowSchemaName(live, this.#consumer);
    const extent = await streamExtent(await jetstreamManager(conn.nc), projection.consumer);
    const claim = await claimLease(
      store,
      {
        consumer: this.#consumer,
        owner: this.#owner,
        startedBy: this.request.actor,
        reason: this.request.reason,
        onFailure: this.request.onFailure,
        shadowSchema: shadow,
        targetSeq: extent.lastSeq,
      },
      this.deps.leaseMs ?? REBUILD_LEASE_MS,
    );
    if (!claim) throw new RebuildRunning(await readRecord(store, this.#consumer));
    // From scratch: whatever a rebuild left that never made progress goes.
    if (!claim.resumed) await dropShadow(store, shadow);
    this.deps.log.info(
      { consumer: this.#consumer, shadow, fromSeq: claim.record.appliedSeq + 1 },
      claim.resumed ? 'rebuild resumed' : 'rebuild started',
    );
    return { record: claim.record, shadow, live };
  }

  async #run(c: { record: RebuildRecord; shadow: string; live: string }): Promise<RebuildRecord> {
    const { store, log } = this.deps;
    const heartbeat = setInterval(
      () => void this.#renew().catch(() => undefined),
      this.deps.heartbeatMs ?? REBUILD_HEARTBEAT_MS,
    );
    heartbeat.unref();
    try {
      const end = await this.#build(c.shadow, c.live, c.record.appliedSeq);
      if (end.kind === 'stopped') await finish(store, this.#consumer, this.#owner, 'interrupted');
      if (end.kind === 'failed') {
        const { seq, error } = end;
        log.error({ consumer: this.#consumer, seq, err: error }, 'rebuild stopped at an event');
        await finish(store, this.#consumer, this.#owner, 'failed', { failedSeq: seq, error });
      }
    } catch (e) {
      log.error({ consumer: this.#consumer, err: errorText(e) }, 'rebuild failed');
      await finish(store, this.#consumer, this.#owner, 'failed', { error: errorText(e) }).catch(
        () => undefined,
      );
    } finally {
      clearInterval(heartbeat);
    }
    return (await readRecord(store, this.#consumer))!;
  }

  /** Renews the lease; a lease found taken stops this rebuild. */
  async #renew(): Promise<void> {
    const zero = { appliedSeq: 0, applied: 0, skipped: 0, deadLettered: 0 };
    if (!(await recordProgress(this.deps.store, this.#consumer, this.#owner, zero))) {
      this.#stopping = true;
    }
  }

  async #build(
    shadow: string,
    live: string,
    fromSeq: number,
  ): Promise<
    { kind: 'swapped' | 'stopped' | 'lost' } | { kind: 'failed'; seq: number; error: string }
  > {
    const { store, projection, conn, log } = this.deps;
    const shadowed = await prepareShadow(store, projection, shadow, live);
    let seq = fromSeq;
    let reader: StreamReader | undefined;
    while (!this.#stopping) {
      try {
        reader ??= await StreamReader.open(conn, projection.consumer, seq + 1);
        const { messages, caughtUp } = await reader.read(this.#batchSize);
        if (messages.length > 0) {
          const outcome = await this.#apply(shadowed, messages);
          if ('failed' in outcome) return { kind: 'failed', ...outcome.failed };
          if (!(await recordProgress(store, this.#consumer, this.#owner, outcome))) {
            return { kind: 'lost' };
          }
          seq = outcome.appliedSeq;
          this.deps.afterBatch?.(seq);
        }
        if (!caughtUp || this.#stopping) continue;
        const swapped = await swapShadow(store, this.#consumer, shadow, live, seq, (tx, s) =>
          finish(tx, this.#consumer, this.#owner, 'swapped', {
            effectsMerged: s.effectsMerged,
          }).then((held) => {
            if (!held) throw new LeaseLost();
          }),
        );
        log.info({ consumer: this.#consumer, seq, ...swapped }, 'rebuild swapped in');
        return { kind: 'swapped' };
      } catch (e) {
        if (e instanceof ShadowBehind) continue; // live applied more meanwhile: read on
        if (e instanceof LeaseLost) return { kind: 'lost' }; // the swap was rolled back
        log.warn({ consumer: this.#consumer, err: errorText(e) }, 'rebuild step failed; retrying');
        reader = undefined; // read again from `seq` through a new one
        await this.#pause(RETRY_MS);
      }
    }
    return { kind: 'stopped' };
  }

  /**
   * Applies one read to the shadow. Returns the progress, or the first message that cannot be
   * applied when the rebuild stops at one.
   */
  async #apply(
    shadowed: SqlStore,
    messages: JsMsg[],
  ): Promise<Progress | { failed: { seq: number; error: string } }> {
    const { projection } = this.deps;
    const batch = emptyBatch();
    const parse = projectionParser(projection);
    const key = projection.key?.bind(projection);
    for (const m of messages) addMessage(batch, m, false, parse, key);
    const failures: { msg: JsMsg; seq: number; error: string }[] = batch.invalid.map((i) => ({
      msg: i.msg,
      seq: i.meta.seq,
      error: i.error,
    }));
    const progress: Progress = {
      appliedSeq: messages.at(-1)!.seq,
      applied: 0,
      skipped: 0,
      deadLettered: 0,
    };
    let items: Item[] = batch.items;
    for (let tries = 1; items.length > 0; tries++) {
      const outcome = await applyBatch(shadowed, projection, this.#consumer, items);
      progress.applied += outcome.applied.length;
      progress.skipped += outcome.skipped.length;
      items = [];
      for (const f of outcome.failed) {
        // The database out of reach fails the whole batch: it is tried again, however often.
        const again =
          f.kind === 'unavailable' || (f.kind === 'transient' && tries < TRANSIENT_TRIES);
        if (again) items.push(f.item);
        else failures.push({ msg: f.item.msg, seq: f.item.meta.seq, error: f.error });
      }
      if (items.length > 0) await this.#pause(RETRY_MS);
      if (this.#stopping && items.length > 0) throw new Error('stopped while retrying');
    }
    failures.sort((a, b) => a.seq - b.seq);
    if (failures.length > 0 && this.request.onFailure === 'stop') {
      // Resumed, the rebuild starts at the failed event; what the batch applied past it is
      // in the shadow's inbox and is skipped.
      await recordProgress(this.deps.store, this.#consumer, this.#owner, {
        ...progress,
        appliedSeq: failures[0]!.seq - 1,
      });
      return { failed: { seq: failures[0]!.seq, error: failures[0]!.error } };
    }
    for (const f of failures) await this.#deadLetter(f.msg, f.error);
    progress.deadLettered += failures.length;
    return progress;
  }

  async #deadLetter(msg: JsMsg, error: string): Promise<void> {
    if (!this.deps.desk) throw new Error('no dead-letter desk to record a failed event at');
    const { actor, reason } = this.request;
    const why = `not applied while rebuilding ${this.#consumer} (started by ${actor.id}: ${reason})`;
    const id = await recordRebuildDeadLetter(this.deps.desk, this.#consumer, msg, error, why);
    this.deps.log.warn(
      { consumer: this.#consumer, seq: msg.seq, deadLetterId: id },
      'rebuild dead letter',
    );
  }

  #pause(ms: number): Promise<void> {
    return new Promise((r) => {
      const t = setTimeout(r, ms);
      this.#wake = () => {
        clearTimeout(t);
        r();
      };
    });
  }
}
