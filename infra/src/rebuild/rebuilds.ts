import { jetstreamManager } from '@nats-io/jetstream';
import type { Connection } from '../connection.js';
import type { DeadLetterDesk } from '../deadletters/desk.js';
import { conflict, notFound } from '../http/errors.js';
import type { Logger } from '../logger.js';
import type { SqlStore } from '../store/sql-store.js';
import { errorText } from '../subscriber/failures.js';
import type { Projection } from '../subscriber/projection.js';
import { Rebuild, type RebuildRequest } from './rebuild.js';
import { migrateRebuilds, readRecord, RebuildRunning, type RebuildRecord } from './record.js';
import { liveSchema, plannedTables, shadowSchemaName } from './shadow.js';
import { streamExtent } from './stream-reader.js';

/** What a rebuild of one projection would do, and how the last one went. */
export interface RebuildPlan {
  /** The projection's name in the service (its durable's name without the service). */
  projection: string;
  consumer: string;
  stream: string;
  filterSubject: string | null;
  /** Messages in the stream under the filter: what a rebuild from sequence 1 reads. */
  messages: number;
  /** The stream's last sequence now. */
  streamLastSeq: number;
  /** Where a start would begin: 1, or after what an interrupted or failed rebuild applied. */
  fromSeq: number;
  live: {
    /** The largest stream sequence the live projection has applied (its inbox). */
    appliedSeq: number;
    /** Messages its durable has not yet had acknowledged; null when NATS did not say. */
    pending: number | null;
  };
  shadowSchema: string;
  /** The read model's tables, built in the shadow schema and swapped in. */
  tables: string[];
  /** The last rebuild of this projection, running or ended; null if never. */
  rebuild: RebuildRecord | null;
}

/**
 * The rebuilds of a service's projections: one at a time per projection (a second start is a
 * 409 while one runs), each in the background of the service that applies it live.
 */
export class Rebuilds {
  readonly #running = new Map<string, Rebuild>();

  constructor(
    private readonly deps: {
      service: string;
      conn: Connection;
      store: SqlStore;
      /** As the service runs them (their durables' settings applied). */
      projections: Projection[];
      log: Logger;
      desk?: DeadLetterDesk;
    },
  ) {}

  /** The projections' names: their durables' names without the service's. */
  get names(): string[] {
    return this.deps.projections.map((p) => this.#nameOf(p));
  }

  #nameOf(p: Projection): string {
    const prefix = `${this.deps.service}-`;
    const consumer = p.consumer.name;
    return consumer.startsWith(prefix) ? consumer.slice(prefix.length) : consumer;
  }

  #find(name: string): Projection {
    const p = this.deps.projections.find(
      (x) => this.#nameOf(x) === name || x.consumer.name === name,
    );
    if (!p) {
      throw notFound(`${this.deps.service} has no projection ${name}`, { projections: this.names });
    }
    return p;
  }

  /** What a rebuild would do; changes nothing. */
  async plan(name: string): Promise<RebuildPlan> {
    const p = this.#find(name);
    const { store, conn } = this.deps;
    await migrateRebuilds(store);
    const jsm = await jetstreamManager(conn.nc);
    const extent = await streamExtent(jsm, p.consumer);
    const record = await readRecord(store, p.consumer.name);
    const resumes = record && record.status !== 'swapped' && record.status !== 'running';
    return {
      projection: this.#nameOf(p),
      consumer: p.consumer.name,
      stream: p.consumer.stream,
      filterSubject: p.consumer.filterSubject ?? null,
      messages: extent.messages,
      streamLastSeq: extent.lastSeq,
      fromSeq: resumes ? record.appliedSeq + 1 : 1,
      live: {
        appliedSeq: await this.#liveSeq(p),
        pending: await jsm.consumers
          .info(p.consumer.stream, p.consumer.name)
          .then((i) => i.num_pending + i.num_ack_pending)
          .catch(() => null),
      },
      shadowSchema: shadowSchemaName(await liveSchema(store), p.consumer.name),
      tables: await plannedTables(store, p),
      rebuild: record,
    };
  }

  async #liveSeq(p: Projection): Promise<number> {
    try {
      const { rows } = await this.deps.store.query<{ seq: string | number | null }>(
        'SELECT max(stream_seq) AS seq FROM cohort_inbox WHERE consumer = $1',
        [p.consumer.name],
      );
      return Number(rows[0]?.seq ?? 0);
    } catch {
      return 0; // no inbox yet: nothing applied
    }
  }

  /** Starts a rebuild in the background; 409 while one of the projection runs. */
  async start(name: string, request: RebuildRequest): Promise<RebuildPlan> {
    const p = this.#find(name);
    if (request.onFailure === 'dead-letter' && !this.deps.desk) {
      throw conflict('no_dead_letter_desk', 'this service has no dead-letter desk to record at');
    }
    try {
      const job = await Rebuild.start(
        {
          conn: this.deps.conn,
          store: this.deps.store,
          projection: p,
          log: this.deps.log,
          desk: this.deps.desk,
        },
        request,
      );
      this.#running.set(p.consumer.name, job);
      void job.done
        .catch((e: unknown) =>
          this.deps.log.error({ consumer: p.consumer.name, err: errorText(e) }, 'rebuild ended'),
        )
        .finally(() => this.#running.delete(p.consumer.name));
    } catch (e) {
      if (e instanceof RebuildRunning) {
        throw conflict('rebuild_running', e.message, { rebuild: e.record });
      }
      throw e;
    }
    return this.plan(name);
  }

  /** Stops every rebuild this process runs, as interrupted: started again, each resumes. */
  async stop(): Promise<void> {
    await Promise.all([...this.#running.values()].map((j) => j.stop()));
  }
}
