import { reportSubject, trialReportsFilter } from '@cohort/contracts';
import { Publisher, type Connection } from '@cohort/infra';
import {
  connect,
  createLogger,
  ServiceMetrics,
  startProjections,
  type RunningProjections,
  type SqlStore,
  authenticatedAs,
  conformingToOpenApi,
  NatsServer,
  reportSubmitted,
  reportSubmittedV1,
  testStores,
  testTokens,
} from '@cohort/infra/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from './app.js';
import { caseReports } from './case-reports.js';
import type { CaseReport, Page } from './queries.js';
import { trialStatus } from './trial-status.js';

const tokens = await testTokens();
const investigator = await tokens.header({ sub: 'dr.ng', role: 'investigator', trials: ['*'] });
const enc = new TextEncoder();

let server: NatsServer;
let conn: Connection;

beforeAll(async () => {
  server = await NatsServer.start();
  conn = await connect({ servers: server.url, name: 'edc-versions-test' });
});

afterAll(async () => {
  await conn?.drain();
  await server?.dispose();
});

describe.each(testStores())('EDC reads every version of ReportSubmitted on $kind', (kind) => {
  const trialId = `T-VERSIONS-${kind.kind}`;
  let store: SqlStore;
  let running: RunningProjections;

  beforeAll(async () => {
    store = await kind.open();
    // The report API reads trial statuses beside the reports; none are needed here.
    await store.migrate('edc-trial-status', trialStatus.migrations);
    running = await startProjections({
      conn,
      store,
      // Its own durable on this trial's reports: the stores share one server.
      projections: [
        {
          ...caseReports,
          consumer: {
            ...caseReports.consumer,
            name: `${caseReports.consumer.name}-${kind.kind}`,
            filterSubject: trialReportsFilter(trialId),
          },
        },
      ],
      metrics: new ServiceMetrics('edc', { defaults: false }),
      log: createLogger('edc'),
    });
    await running.started;
  });

  afterAll(async () => {
    await running?.stop();
    await store?.close();
    await kind.cleanup();
  });

  it('keeps a stored v1 report and a v2 report as rows with the v2 fields', async () => {
    const v1 = reportSubmittedV1({ trialId, patientId: 'P1' });
    const v2 = reportSubmitted({
      trialId,
      patientId: 'P2',
      siteId: 'SITE-LYON',
      device: { platform: 'android', appVersion: '4.0.1' },
    });
    v2.data.answers = [{ itemId: 'weight', value: 71.5, unit: 'kg' }];
    const publisher = new Publisher(conn);
    // Raw, as the stream holds them: the v1 one was written before v2 existed.
    for (const e of [v1, v2]) {
      await publisher.publish(
        reportSubject(e.data.trialId, e.data.patientId),
        enc.encode(JSON.stringify(e)),
        { msgId: e.data.requestId },
      );
    }
    const rows = async () =>
      (
        await store.query<Record<string, unknown>>(
          `SELECT event_id, patient_id, site_id, platform, app_version, answers
           FROM case_reports WHERE trial_id = $1 ORDER BY patient_id`,
          [trialId],
        )
      ).rows;
    await expect.poll(async () => (await rows()).length).toBe(2);
    expect(await rows()).toEqual([
      {
        event_id: v1.id,
        patient_id: 'P1',
        site_id: null,
        platform: null,
        app_version: null,
        answers: v1.data.answers,
      },
      {
        event_id: v2.id,
        patient_id: 'P2',
        site_id: 'SITE-LYON',
        platform: 'android',
        app_version: '4.0.1',
        answers: [{ itemId: 'weight', value: 71.5, unit: 'kg' }],
      },
    ]);

    const app = authenticatedAs(
      conformingToOpenApi(
        createApp({
          auth: tokens.keys,
          db: store,
          metrics: new ServiceMetrics('edc', { defaults: false }),
          log: createLogger('edc'),
          ready: {},
        }),
      ),
      investigator,
    );
    const res = await app.request(`/v1/trials/${trialId}/reports`);
    expect(res.status).toBe(200);
    const page = (await res.json()) as Page<CaseReport>;
    const byPatient = Object.fromEntries(page.items.map((r) => [r.patientId, r]));
    expect(byPatient.P1).toMatchObject({ eventId: v1.id, siteId: null, device: null });
    expect(byPatient.P2).toMatchObject({
      eventId: v2.id,
      siteId: 'SITE-LYON',
      device: { platform: 'android', appVersion: '4.0.1' },
      answers: [{ itemId: 'weight', value: 71.5, unit: 'kg' }],
    });
  });
});
