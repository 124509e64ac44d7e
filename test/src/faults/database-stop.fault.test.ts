import { NatsServer, PostgresServer } from '@cohort/infra/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { summary } from '../support/edc.js';
import { as } from '../support/identity.js';
import { expectEdcExact, expectExactlyOnce, requestIdsInStream } from './support/accounting.js';
import { burst, describeBurst } from './support/phones.js';
import { startServices, submissions, type FaultServices } from './support/services.js';

const TRIAL = 'FAULT-PG-STOP';
const N = 2_000;
const PHONES = 50;
const PATIENTS = 40;
const available = PostgresServer.available();

let nats: NatsServer | undefined;
let pg: PostgresServer | undefined;
let services: FaultServices | undefined;

afterAll(async () => {
  await services?.stop();
  await pg?.dispose();
  await nats?.dispose();
});

describe.skipIf(!available.ok)(
  `PostgreSQL under edc${available.ok ? '' : ` (not run: ${available.reason})`}`,
  () => {
    it('stopped while edc drains a burst: reads 503 with Retry-After, not ready; once back the projection is exact', async () => {
      nats = await NatsServer.start();
      pg = await PostgresServer.start();
      services = await startServices(nats.url, TRIAL, { edcExtra: { DATABASE_URL: pg.url } });
      const { edc, conn, api } = services;
      const edcPid = edc.proc.pid;

      const load = burst(() => api.url, submissions(TRIAL, N, PATIENTS), PHONES);
      await expect
        .poll(async () => (await summary(edc, TRIAL)).reports, { timeout: 60_000, interval: 50 })
        .toBeGreaterThan(N / 10);
      // Like a crash: sessions dropped, transactions of the batch in progress rolled back.
      await pg.stop('immediate');
      const acceptedAtStop = load.stats.accepted.size;

      const read = `${edc.url}/v1/trials/${TRIAL}/summary`;
      await expect
        .poll(async () => (await fetch(read, { headers: as.monitor })).status, { timeout: 15_000 })
        .toBe(503);
      const refused = await fetch(read, { headers: as.monitor });
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      expect((await fetch(`${edc.url}/readyz`)).status).toBe(503);

      const stats = await load.done; // ingest does not need the database
      console.info(`PostgreSQL stop under edc, ingest: ${describeBurst(stats)}`);
      await pg.start();
      expect(Object.fromEntries(stats.refused)).toEqual({});
      expect(stats.accepted.size).toBe(N);
      expect(acceptedAtStop).toBeLessThan(N);
      expectExactlyOnce('REPORTS', stats.accepted, await requestIdsInStream(conn, 'REPORTS'));
      await expectEdcExact(edc, TRIAL, stats.accepted, conn, PATIENTS);
      await expect.poll(async () => (await fetch(`${edc.url}/readyz`)).status).toBe(200);
      expect(edc.proc.pid).toBe(edcPid);
      expect(edc.proc.exitCode).toBeNull();
    });
  },
);
