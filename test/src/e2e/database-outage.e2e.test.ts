import { reportSubject } from '@cohort/contracts';
import { Publisher } from '@cohort/infra';
import {
  connect,
  provision,
  topology,
  NatsServer,
  PostgresServer,
  reportSubmitted,
} from '@cohort/infra/testing';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, describe, expect, it } from 'vitest';
import { getJson, summary } from '../support/edc.js';
import { as } from '../support/identity.js';
import { ServiceProcess } from '../support/service-process.js';

const TRIAL = 'OUTAGE';
const REPORTS = 4_000;
const enc = new TextEncoder();
const available = PostgresServer.available();
const cleanups: (() => Promise<unknown>)[] = [];

afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

async function natsWithStreams() {
  const nats = await NatsServer.start();
  cleanups.push(() => nats.dispose());
  const conn = await connect({ servers: nats.url, name: 'outage-e2e' });
  cleanups.push(() => conn.drain());
  await provision(conn, await jetstreamManager(conn.nc), topology());
  const publisher = new Publisher(conn);
  const publish = async (trialId: string, n: number) => {
    const acks = [];
    for (let i = 0; i < n; i++) {
      const e = reportSubmitted({ trialId, patientId: `P${i % 40}` });
      const subject = reportSubject(trialId, e.data.patientId);
      acks.push(publisher.publish(subject, enc.encode(JSON.stringify(e)), { msgId: e.id }));
    }
    await Promise.all(acks);
  };
  return { nats, conn, publish };
}

async function startEdc(natsUrl: string, databaseUrl: string, waitReady: boolean) {
  const edc = await ServiceProcess.start(
    'edc',
    { NATS_URL: natsUrl, DATABASE_URL: databaseUrl, SUBSCRIBER_BACKOFF_MS: '200' },
    { waitReady },
  );
  cleanups.push(() => edc.stop('SIGKILL'));
  return edc;
}

/** While the database is down: reads are 503 with Retry-After, not ready, the process is up. */
async function expectUnavailable(edc: ServiceProcess) {
  const url = `${edc.url}/v1/trials/${TRIAL}/summary`;
  await expect.poll(async () => (await getJson(url)).status, { timeout: 15_000 }).toBe(503);
  const refused = await fetch(url, { headers: as.monitor });
  expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
  expect(await refused.json()).toMatchObject({ error: 'unavailable' });
  const ready = await fetch(`${edc.url}/readyz`);
  expect(ready.status).toBe(503);
  expect(edc.proc.exitCode).toBeNull();
}

/** Once it is back: every report once, nothing pending, nothing dead-lettered, same process. */
async function expectResumed(
  edc: ServiceProcess,
  conn: Awaited<ReturnType<typeof natsWithStreams>>['conn'],
) {
  await expect
    .poll(async () => (await summary(edc, TRIAL)).reports, { timeout: 60_000, interval: 500 })
    .toBe(REPORTS);
  await expect.poll(async () => (await fetch(`${edc.url}/readyz`)).status).toBe(200);
  expect(edc.proc.exitCode).toBeNull();
  const jsm = await jetstreamManager(conn.nc);
  const info = await jsm.consumers.info('REPORTS', 'edc-case-reports');
  expect(info.num_pending + info.num_ack_pending).toBe(0);
  expect((await jsm.streams.info('ADVISORIES')).state.messages).toBe(0);
}

describe.skipIf(!available.ok)(
  `edc when PostgreSQL is down${available.ok ? '' : ` (not run: ${available.reason})`}`,
  () => {
    it('goes away while edc runs: stays up, 503 and not ready, then resumes by itself', async () => {
      const { nats, conn, publish } = await natsWithStreams();
      const pg = await PostgresServer.start();
      cleanups.push(() => pg.dispose());
      const edc = await startEdc(nats.url, pg.url, true);
      await pg.stop('immediate');
      await publish(TRIAL, REPORTS); // delivered while the database is gone
      await expectUnavailable(edc);
      await pg.start();
      await expectResumed(edc, conn);
    });

    it('is down when edc starts: edc starts anyway, not ready, and catches up once it is back', async () => {
      const { nats, conn, publish } = await natsWithStreams();
      await publish(TRIAL, REPORTS);
      const pg = await PostgresServer.start();
      cleanups.push(() => pg.dispose());
      await pg.stop('fast');
      const edc = await startEdc(nats.url, pg.url, false);
      await expect
        .poll(async () => (await fetch(`${edc.url}/readyz`).catch(() => null))?.status, {
          timeout: 15_000,
        })
        .toBe(503);
      await expectUnavailable(edc);
      await pg.start();
      await expectResumed(edc, conn);
    });
  },
);
