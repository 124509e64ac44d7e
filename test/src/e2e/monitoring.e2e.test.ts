import { alertSubject } from '@cohort/contracts';
import { type Connection } from '@cohort/infra';
import { connect, NatsServer } from '@cohort/infra/testing';
import { jetstream } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropSchemas, edcEnv } from '../support/edc.js';
import { as } from '../support/identity.js';
import { reportBody } from '../support/reports.js';
import { ServiceProcess } from '../support/service-process.js';

const TRIAL = 'E2E-MONITOR';
let nats: NatsServer;
let conn: Connection;
let pm: ServiceProcess;
let api: ServiceProcess;
let monitoring: ServiceProcess;

async function call(
  method: string,
  url: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, {
    method,
    headers: { ...headers, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Every event of MONITORING on `subject`, by type. */
async function eventsOn(subject: string): Promise<string[]> {
  const consumer = await jetstream(conn.nc).consumers.get('MONITORING', {
    filter_subjects: subject,
  });
  const types: string[] = [];
  for (;;) {
    let pending = 0;
    let got = 0;
    for await (const m of await consumer.fetch({ max_messages: 100, expires: 1_000 })) {
      got++;
      pending = m.info.pending;
      types.push(m.json<{ type: string }>().type);
    }
    if (got === 0 || pending === 0) return types;
  }
}

beforeAll(async () => {
  nats = await NatsServer.start();
  conn = await connect({ servers: nats.url, name: 'monitoring-e2e' });
  pm = await ServiceProcess.start('project-management', await edcEnv(nats.url));
  [api, monitoring] = await Promise.all([
    ServiceProcess.start('epro-api', { NATS_URL: nats.url }),
    edcEnv(nats.url).then((env) => ServiceProcess.start('monitoring', env)),
  ]);
  const project = `${pm.url}/v1/projects/${TRIAL}`;
  const created = await call('POST', `${pm.url}/v1/projects`, as.sponsor, {
    requestId: crypto.randomUUID(),
    projectId: TRIAL,
    name: 'Depression in primary care',
  });
  expect(created.status).toBe(201);
  expect(
    (
      await call('PUT', `${project}/safety-rules/phq9-item9`, as.sponsor, {
        questionnaireId: 'PHQ-9',
        itemId: 'q9',
        condition: { kind: 'at-least', value: 2 },
        severity: 'high',
        acknowledgeWithinMinutes: 60,
        reason: 'PHQ-9 item 9 needs a clinician',
      })
    ).status,
  ).toBe(200);
  for (const [to, version] of [
    ['enrolling', 1],
    ['active', 2],
  ] as const) {
    const r = await call('POST', `${project}/status`, as.sponsor, {
      to,
      expectedVersion: version,
      reason: 'go',
    });
    expect(r.status).toBe(200);
  }
  const enrolled = await call('POST', `${project}/patients`, as.coordinator, {
    requestId: crypto.randomUUID(),
    patientId: 'P-9',
    siteId: 'SITE-EAST',
  });
  expect(enrolled.status).toBe(201);
});

afterAll(async () => {
  await Promise.all([pm?.stop(), api?.stop(), monitoring?.stop()]);
  await conn?.drain();
  await nats?.dispose();
  await dropSchemas();
});

describe('a report that crosses a safety rule, across processes', () => {
  let alertId: string;

  it('raises exactly one SafetySignalRaised and one open alert, also when the phone retries', async () => {
    // Monitoring applies the protocol before the patient's first report.
    await expect
      .poll(
        async () =>
          (await call('GET', `${monitoring.url}/v1/trials/${TRIAL}`, as.monitor)).body.patients,
        {
          timeout: 15_000,
        },
      )
      .toBe(1);
    const body = {
      ...reportBody(TRIAL, 'P-9'),
      questionnaire: { id: 'PHQ-9', version: '1' },
      answers: [{ itemId: 'q9', value: 3 }],
    };
    for (let i = 0; i < 3; i++) {
      expect((await call('POST', `${api.url}/v1/reports`, as.gateway, body)).status).toBe(202);
    }
    await expect
      .poll(
        async () =>
          (await call('GET', `${monitoring.url}/v1/alerts?trialId=${TRIAL}`, as.monitor)).body
            .items,
        {
          timeout: 15_000,
        },
      )
      .toEqual([
        expect.objectContaining({
          status: 'open',
          patientId: 'P-9',
          siteId: 'SITE-EAST',
          value: 3,
        }),
      ]);
    const { items } = (
      await call('GET', `${monitoring.url}/v1/alerts?trialId=${TRIAL}`, as.monitor)
    ).body as {
      items: { alertId: string }[];
    };
    alertId = items[0]!.alertId;
    expect(await eventsOn(alertSubject(TRIAL, alertId))).toEqual(['SafetySignalRaised']);
  });

  it('staff acknowledge and resolve it, recorded with the identity of their tokens', async () => {
    const alert = `${monitoring.url}/v1/trials/${TRIAL}/alerts/${alertId}`;
    expect((await call('POST', `${alert}/acknowledge`, as.monitor, { note: 'x' })).status).toBe(
      403,
    );
    expect(
      (await call('POST', `${alert}/acknowledge`, as.investigator, { note: 'called the patient' }))
        .status,
    ).toBe(200);
    expect(
      (
        await call('POST', `${alert}/resolve`, as.investigator, {
          actionTaken: 'urgent appointment booked',
        })
      ).status,
    ).toBe(200);
    await expect
      .poll(
        async () =>
          (await call('GET', `${monitoring.url}/v1/alerts?trialId=${TRIAL}`, as.monitor)).body
            .items,
        {
          timeout: 15_000,
        },
      )
      .toEqual([
        expect.objectContaining({
          status: 'resolved',
          acknowledged: expect.objectContaining({
            by: { id: 'dr.ng', role: 'investigator' },
            note: 'called the patient',
          }),
          resolved: expect.objectContaining({
            by: { id: 'dr.ng', role: 'investigator' },
            actionTaken: 'urgent appointment booked',
          }),
        }),
      ]);
    expect(await eventsOn(alertSubject(TRIAL, alertId))).toEqual([
      'SafetySignalRaised',
      'AlertAcknowledged',
      'AlertResolved',
    ]);
  });
});
