import { reportSubject } from '@cohort/contracts';
import { Publisher, type Connection } from '@cohort/infra';
import { connect, provision, topology, NatsServer, reportSubmitted } from '@cohort/infra/testing';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { allReports, dropSchemas, edcEnv, metric, newSchema, summary } from '../support/edc.js';
import { ServiceProcess } from '../support/service-process.js';

const CONSUMER = 'edc-case-reports';
const enc = new TextEncoder();
const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});
afterAll(dropSchemas);

async function natsWithReports(): Promise<{
  nats: NatsServer;
  conn: Connection;
  publisher: Publisher;
}> {
  const nats = await NatsServer.start();
  const conn = await connect({ servers: nats.url, name: 'edc-e2e' });
  cleanups.push(
    () => nats.dispose(),
    () => conn.drain(),
  );
  await provision(conn, await jetstreamManager(conn.nc), topology());
  return { nats, conn, publisher: new Publisher(conn) };
}

async function publishReports(publisher: Publisher, trialId: string, n: number, patients = 10) {
  const acks = [];
  for (let i = 0; i < n; i++) {
    const e = reportSubmitted({ trialId, patientId: `P${i % patients}` });
    acks.push(
      publisher.publish(reportSubject(trialId, e.data.patientId), enc.encode(JSON.stringify(e)), {
        msgId: e.id,
      }),
    );
    if (acks.length >= 1_000) await Promise.all(acks.splice(0));
  }
  await Promise.all(acks);
}

async function startEdc(env: Record<string, string>, opts: { waitReady?: boolean } = {}) {
  const svc = await ServiceProcess.start('edc', env, opts);
  cleanups.push(() => svc.stop('SIGKILL'));
  return svc;
}

async function ackPending(conn: Connection) {
  const info = await (await jetstreamManager(conn.nc)).consumers.info('REPORTS', CONSUMER);
  return info.num_ack_pending + info.num_pending;
}

describe('edc subscriber as a process', () => {
  it('SIGKILL between commit and ack, then restart: every report exactly once', async () => {
    const { nats, conn, publisher } = await natsWithReports();
    await publishReports(publisher, 'CRASH', 300);
    const env = { ...(await edcEnv(nats.url)), SUBSCRIBER_BATCH_SIZE: '100' };
    const crashing = await startEdc(
      { ...env, COHORT_FAULT_KILL_AFTER_COMMIT: '1' },
      { waitReady: false },
    );
    await crashing.exited();
    expect(crashing.signal).toBe('SIGKILL');

    const edc = await startEdc(env);
    await expect.poll(() => ackPending(conn), { timeout: 30_000, interval: 250 }).toBe(0);
    expect(await summary(edc, 'CRASH')).toEqual(
      expect.objectContaining({ reports: 300, patients: 10 }),
    );
    const reports = await allReports(edc, 'CRASH');
    expect(reports).toHaveLength(300);
    expect(new Set(reports.map((r) => r.requestId)).size).toBe(300);
    // What was committed before the kill (at least the first batch of 100; on PostgreSQL a
    // second batch may have been in flight) came back and was recognized, not applied again.
    const skipped = await metric(edc, 'cohort_subscriber_skipped_total');
    expect(skipped).toBeGreaterThanOrEqual(100);
    expect(skipped + (await metric(edc, 'cohort_subscriber_applied_total'))).toBe(300);
  });

  it('two processes on one durable apply every message exactly once between them', async () => {
    const { nats, conn, publisher } = await natsWithReports();
    const schema = newSchema(); // with PostgreSQL both share one schema
    const env = { ...(await edcEnv(nats.url, { schema })), SUBSCRIBER_BATCH_SIZE: '50' };
    const [a, b] = await Promise.all([
      startEdc(env),
      startEdc({ ...env, ...(await edcEnv(nats.url, { schema })) }),
    ]);
    // Both are pulling before the burst: neither can drain it alone before the other starts.
    await publishReports(publisher, 'DUO', 3_000);
    await expect.poll(() => ackPending(conn), { timeout: 30_000, interval: 250 }).toBe(0);
    const appliedA = await metric(a, 'cohort_subscriber_applied_total');
    const appliedB = await metric(b, 'cohort_subscriber_applied_total');
    expect(appliedA + appliedB).toBe(3_000);
    expect(appliedA).toBeGreaterThan(0);
    expect(appliedB).toBeGreaterThan(0);
    const ids = [...(await allReports(a, 'DUO')), ...(await allReports(b, 'DUO'))].map(
      (r) => r.eventId,
    );
    if (process.env.DATABASE_URL) {
      expect(ids).toHaveLength(6_000); // one shared database, seen through both
      expect(new Set(ids).size).toBe(3_000);
    } else {
      expect(ids).toHaveLength(3_000); // a database each: disjoint halves
      expect(new Set(ids).size).toBe(3_000);
    }
  });

  it('SIGTERM in the middle of a burst: exit 0, and the restart applies the rest once', async () => {
    const { nats, conn, publisher } = await natsWithReports();
    const N = 20_000;
    await publishReports(publisher, 'BURST', N, 50);
    const env = await edcEnv(nats.url);
    const first = await startEdc(env);
    await expect
      .poll(() => metric(first, 'cohort_subscriber_applied_total'), { interval: 20 })
      .toBeGreaterThan(0);
    const lag = async (svc: ServiceProcess) =>
      ((await (await fetch(`${svc.url}/readyz`)).json()) as { lag: Record<string, number> }).lag;
    expect((await lag(first))[CONSUMER]).toBeGreaterThan(0); // the burst is still waiting
    expect(await first.stop('SIGTERM')).toBe(0);
    const before = (await jetstreamManager(conn.nc)).consumers.info('REPORTS', CONSUMER);
    expect((await before).num_ack_pending).toBe(0); // nothing left delivered and unacked

    const second = await startEdc(env);
    await expect.poll(() => ackPending(conn), { timeout: 60_000, interval: 250 }).toBe(0);
    expect(await summary(second, 'BURST')).toEqual(
      expect.objectContaining({ reports: N, patients: 50 }),
    );
    expect(await metric(second, 'cohort_subscriber_skipped_total')).toBe(0);
    expect(await metric(second, 'cohort_subscriber_applied_total')).toBeLessThan(N);
    expect(await lag(second)).toEqual({ [CONSUMER]: 0, 'edc-trial-status': 0 });
  });

  it('while NATS is down: not ready, with each lag unknown rather than waited for', async () => {
    const { nats } = await natsWithReports();
    const edc = await startEdc(await edcEnv(nats.url));
    await nats.stop();
    const readiness = async () => {
      const res = await fetch(`${edc.url}/readyz`);
      return {
        code: res.status,
        ...((await res.json()) as { checks: Record<string, string>; lag: unknown }),
      };
    };
    await expect.poll(async () => (await readiness()).checks.nats).toBe('not connected to NATS');
    expect(await readiness()).toMatchObject({
      code: 503,
      lag: { [CONSUMER]: null, 'edc-trial-status': null },
    });
    await nats.restart();
    await expect.poll(async () => (await readiness()).code, { timeout: 15_000 }).toBe(200);
  });
});
