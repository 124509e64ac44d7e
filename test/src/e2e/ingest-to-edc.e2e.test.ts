import { type Connection } from '@cohort/infra';
import { connect, provision, topology, NatsServer, trialsIn } from '@cohort/infra/testing';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allReports, dropSchemas, edcEnv, summary } from '../support/edc.js';
import { reportBody } from '../support/reports.js';
import { ServiceProcess } from '../support/service-process.js';
import { as } from '../support/identity.js';

const N = 10_000;
const PATIENTS = 40;
const TRIAL = 'E2E-FLOOD';

let nats: NatsServer;
let conn: Connection;
let api: ServiceProcess;
let edc: ServiceProcess;

beforeAll(async () => {
  nats = await NatsServer.start();
  const setup = await connect({ servers: nats.url, name: 'flood-setup' });
  await provision(setup, await jetstreamManager(setup.nc), topology());
  await trialsIn(setup, [TRIAL]);
  await setup.drain();
  [api, edc] = await Promise.all([
    ServiceProcess.start('epro-api', { NATS_URL: nats.url }),
    edcEnv(nats.url).then((env) => ServiceProcess.start('edc', env)),
  ]);
  conn = await connect({ servers: nats.url, name: 'flood-e2e' });
});

afterAll(async () => {
  await conn?.drain();
  await Promise.all([api?.stop(), edc?.stop()]);
  await nats?.dispose();
  await dropSchemas();
});

describe('a reminder burst, from HTTP to the EDC read model', () => {
  it(`${N} submissions over HTTP become exactly ${N} case reports`, async () => {
    const bodies = Array.from({ length: N }, (_, i) =>
      JSON.stringify(reportBody(TRIAL, `P${i % PATIENTS}`, i)),
    );
    let next = 0;
    const statuses = new Map<number, number>();
    // 100 phones at a time, each submitting its next report as soon as the last is answered.
    await Promise.all(
      Array.from({ length: 100 }, async () => {
        while (next < N) {
          const body = bodies[next++]!;
          const r = await fetch(`${api.url}/v1/reports`, {
            method: 'POST',
            headers: { ...as.gateway, 'content-type': 'application/json' },
            body,
          });
          await r.arrayBuffer();
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        }
      }),
    );
    expect(Object.fromEntries(statuses)).toEqual({ 202: N });

    await expect
      .poll(async () => (await summary(edc, TRIAL)).reports, { timeout: 120_000, interval: 500 })
      .toBe(N);
    expect(await summary(edc, TRIAL)).toEqual(
      expect.objectContaining({ reports: N, patients: PATIENTS }),
    );
    const reports = await allReports(edc, TRIAL);
    expect(reports).toHaveLength(N);
    expect(new Set(reports.map((r) => r.requestId)).size).toBe(N);
    for (let p = 0; p < PATIENTS; p++) {
      const mine = await allReports(edc, TRIAL, `P${p}`);
      expect(mine, `patient P${p}`).toHaveLength(N / PATIENTS);
    }
    const info = await (await jetstreamManager(conn.nc)).streams.info('REPORTS');
    expect(info.state.messages).toBe(N);
  });
});
