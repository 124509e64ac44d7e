import { parseReportsEvent, reportSubject, type ReportsEvent } from '@cohort/contracts';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Connection } from '../connection.js';
import { createLogger } from '../logger.js';
import { ServiceMetrics } from '../metrics.js';
import { Publisher } from '../publisher.js';
import { openStore, type SqlStore } from '../store/sql-store.js';
import { reportSubmitted } from '../testing/events.js';
import { NatsServer } from '../testing/nats-server.js';
import { PostgresServer } from '../testing/postgres-server.js';
import { provision, topology } from '../topology.js';
import type { Projection } from './projection.js';
import { startProjections, type RunningProjections } from './service.js';

const enc = new TextEncoder();
const pg = PostgresServer.available();
/** Deliveries before a dead letter: retries alone would use them up within the outage. */
const MAX_DELIVER = 4;
/** Settings as a service reads them: small batches, so the drain is long enough to cut. */
const ENV = { SUBSCRIBER_BATCH_SIZE: '20', SUBSCRIBER_BACKOFF_MS: '200' };

/** Each report once, by plain insert: a second apply would break the key and be a dead letter. */
function drained(name: string, trialId: string): Projection<ReportsEvent> {
  return {
    consumer: {
      stream: 'REPORTS',
      name,
      filterSubject: `reports.${trialId}.*`,
      maxDeliver: MAX_DELIVER,
      ackWaitMs: 10_000,
    },
    parse: parseReportsEvent,
    migrations: [
      { version: 1, name: 'drained', sql: 'CREATE TABLE drained (request_id text PRIMARY KEY)' },
    ],
    key: (e) => e.data.requestId,
    apply: async (tx, e) => {
      await tx.query('INSERT INTO drained VALUES ($1)', [e.data.requestId]);
    },
    // A few milliseconds of the database per batch: the drain lasts seconds, not a blink.
    applyBatch: async (tx, items) => {
      await tx.query('SELECT pg_sleep(0.02)');
      await tx.query('INSERT INTO drained SELECT unnest($1::text[])', [
        items.map((i) => i.event.data.requestId),
      ]);
    },
  };
}

describe.skipIf(!pg.ok)(
  `a subscriber whose PostgreSQL goes away${pg.ok ? '' : ` (skipped: ${pg.reason})`}`,
  () => {
    let nats: NatsServer;
    let postgres: PostgresServer;
    let conn: Connection;
    let publisher: Publisher;
    const stores: SqlStore[] = [];
    const running: RunningProjections[] = [];
    /** Every dead-letter advisory of the durables of this file. */
    const deadLetters: unknown[] = [];

    beforeAll(async () => {
      [nats, postgres] = await Promise.all([NatsServer.start(), PostgresServer.start()]);
      conn = await connect({ servers: nats.url, name: 'outage-test' });
      await provision(conn, await jetstreamManager(conn.nc), topology());
      publisher = new Publisher(conn);
      for (const kind of ['MAX_DELIVERIES', 'MSG_TERMINATED'])
        conn.nc.subscribe(`$JS.EVENT.ADVISORY.CONSUMER.${kind}.REPORTS.*`, {
          callback: (_e, m) => void deadLetters.push(m.json()),
        });
      await conn.nc.flush();
    });
    afterAll(async () => {
      for (const r of running) await r.stop();
      for (const s of stores) await s.close();
      await conn?.drain();
      await Promise.all([nats?.dispose(), postgres?.dispose()]);
    });

    async function publishReports(trialId: string, n: number) {
      await Promise.all(
        Array.from({ length: n }, (_, i) => {
          const e = reportSubmitted({ trialId, patientId: `P${i % 50}` });
          return publisher.publish(
            reportSubject(trialId, `P${i % 50}`),
            enc.encode(JSON.stringify(e)),
            { msgId: e.data.requestId },
          );
        }),
      );
    }

    async function start(schema: string, projection: Projection<ReportsEvent>) {
      const store = await openStore({ service: 'outage', databaseUrl: postgres.url, schema });
      stores.push(store);
      const metrics = new ServiceMetrics('outage-test', { defaults: false });
      const r = await startProjections({
        conn,
        store,
        projections: [projection],
        metrics,
        log: createLogger('test'),
        env: ENV,
      });
      running.push(r);
      const applied = async () =>
        (await metrics.registry.getSingleMetric('cohort_subscriber_applied_total')!.get()).values[0]
          ?.value ?? 0;
      return { store, running: r, applied };
    }

    const count = async (store: SqlStore, sql: string, params: unknown[] = []) =>
      (await store.query<{ n: number }>(sql, params)).rows[0]!.n;

    it('pauses while PostgreSQL is down in the middle of a drain, then applies every message once', async () => {
      const total = 3_000;
      const name = 'outage-drain';
      await publishReports('DRAIN', total);
      const { store, running, applied } = await start('drain', drained(name, 'DRAIN'));
      await expect.poll(applied, { timeout: 20_000, interval: 10 }).toBeGreaterThanOrEqual(100);
      await postgres.stop();
      try {
        expect(await applied()).toBeLessThan(total); // cut in the middle of the drain
        await expect
          .poll(() => running.ready(), { timeout: 10_000 })
          .toMatch(/database unavailable/);
        // An outage longer than MAX_DELIVER retries with a 200 ms backoff: retried as handler
        // failures, every message in hand would be a dead letter by now.
        await new Promise((r) => setTimeout(r, 3_000));
        expect(await running.ready()).toMatch(/database unavailable/);
      } finally {
        await postgres.start();
      }
      await expect
        .poll(() => count(store, 'SELECT count(*)::int AS n FROM drained'), { timeout: 60_000 })
        .toBe(total);
      expect(
        await count(store, 'SELECT count(*)::int AS n FROM cohort_inbox WHERE consumer = $1', [
          name,
        ]),
      ).toBe(total);
      await expect.poll(() => running.ready(), { timeout: 10_000 }).toBeNull();
      await expect.poll(() => running.lag(), { timeout: 10_000 }).toEqual({ [name]: 0 });
      expect(deadLetters).toEqual([]);
    });

    it('starts with PostgreSQL down: not ready, and applies what came meanwhile once it is up', async () => {
      const name = 'outage-start';
      await postgres.stop();
      let started: Awaited<ReturnType<typeof start>>;
      try {
        started = await start('late_start', drained(name, 'LATE'));
        expect(await started.running.ready()).toMatch(/database unavailable/);
        await publishReports('LATE', 200);
        expect(await started.running.ready()).toMatch(/database unavailable/);
      } finally {
        await postgres.start();
      }
      await started.running.started;
      await expect
        .poll(() => count(started.store, 'SELECT count(*)::int AS n FROM drained'), {
          timeout: 30_000,
        })
        .toBe(200);
      await expect.poll(() => started.running.ready(), { timeout: 10_000 }).toBeNull();
      expect(deadLetters).toEqual([]);
    });
  },
);
