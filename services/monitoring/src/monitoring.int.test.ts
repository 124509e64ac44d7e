import {
  alertSubject,
  enrolmentSubject,
  newEventId,
  projectSubject,
  protocolSubject,
  reportSubject,
  type AnyEnvelope,
  type ReportSubmitted,
  type ReportSubmittedV1,
} from '@cohort/contracts';
import {
  DeadLetterDesk,
  JetStreamEventStore,
  Publisher,
  startOutboxRelay,
  type Connection,
} from '@cohort/infra';
import {
  connect,
  createLogger,
  provision,
  ServiceMetrics,
  startProjections,
  topology,
  type OutboxRelay,
  type RunningProjections,
  type SqlStore,
  apiContractProblems,
  authenticatedAs,
  conformingToOpenApi,
  NatsServer,
  testStores,
  testTokens,
} from '@cohort/infra/testing';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertsView } from './alerts-view.js';
import { createApp } from './app.js';
import { diaries } from './diaries.js';
import { alertIdOf } from './domain/safety.js';
import { HOUR_MS } from './domain/time.js';
import { raiseSignals } from './raise.js';
import { openStores, type MonitoringStores } from './stores.js';
import { trials } from './trials.js';
import { Watch } from './watch.js';

const T0 = Date.parse('2026-03-02T08:00:00.000Z');
const at = (hours: number) => new Date(T0 + hours * HOUR_MS).toISOString();
const enc = new TextEncoder();
const sponsor = { id: 'dr.lee', role: 'sponsor' as const };
const tokens = await testTokens();

let server: NatsServer;
let conn: Connection;

beforeAll(async () => {
  server = await NatsServer.start();
  conn = await connect({ servers: server.url, name: 'monitoring-test' });
  await provision(conn, await jetstreamManager(conn.nc), topology());
});
afterAll(async () => {
  await conn?.drain();
  await server?.dispose();
});

function envelope(type: string, occurredAt: string, data: unknown, reason?: string): AnyEnvelope {
  return {
    id: newEventId(),
    type,
    version: 1,
    occurredAt,
    recordedAt: occurredAt,
    source: 'test',
    actor: sponsor,
    ...(reason ? { reason } : {}),
    correlationId: 'test',
    causationId: 'test',
    data,
  };
}

/** Appends events to one subject of PROJECTS, as project-management does. */
async function append(subject: string, events: AnyEnvelope[]) {
  const store = await JetStreamEventStore.open(conn, 'PROJECTS', () => subject);
  const { version } = await store.read('x');
  await store.append('x', events, version);
}

/**
 * A trial created at T0 and moved through `statuses` (each `[to, hour]`), with a daily diary
 * (12 h window, 2 missed in a row is non-compliant), a PHQ-9 item 9 rule (>= 2, acknowledge
 * within an hour) and a worsening rule on a pain score, and patients enrolled at T0.
 */
async function trial(
  id: string,
  statuses: [string, number][],
  patients: [string, string][],
): Promise<void> {
  const lifecycle = [
    envelope('ProjectCreated', at(0), {
      projectId: id,
      name: `Trial ${id}`,
      requestId: crypto.randomUUID(),
      status: 'planned',
    }),
  ];
  let from = 'planned';
  for (const [to, hour] of statuses) {
    lifecycle.push(
      envelope(
        'ProjectStatusChanged',
        at(hour),
        { projectId: id, from, to, effectiveAt: at(hour) },
        'test',
      ),
    );
    from = to;
  }
  await append(projectSubject(id), lifecycle);
  await append(protocolSubject(id), [
    envelope(
      'DiaryScheduleSet',
      at(0),
      {
        projectId: id,
        questionnaireId: 'DIARY',
        frequency: { kind: 'every', days: 1 },
        windowHours: 12,
        nonCompliance: { kind: 'missed-in-a-row', count: 2 },
      },
      'protocol v1',
    ),
    envelope(
      'SafetyRuleSet',
      at(0),
      {
        projectId: id,
        rule: {
          ruleId: 'phq9-item9',
          questionnaireId: 'DIARY',
          itemId: 'q9',
          condition: { kind: 'at-least', value: 2 },
          severity: 'high',
          acknowledgeWithinMinutes: 60,
        },
      },
      'protocol v1',
    ),
    envelope(
      'SafetyRuleSet',
      at(0),
      {
        projectId: id,
        rule: {
          ruleId: 'pain-worse',
          questionnaireId: 'DIARY',
          itemId: 'pain',
          condition: { kind: 'worsening', increase: 3 },
          severity: 'medium',
          acknowledgeWithinMinutes: 240,
        },
      },
      'protocol v1',
    ),
  ]);
  for (const [patientId, siteId] of patients) {
    await append(enrolmentSubject(id, patientId), [
      envelope('PatientEnrolled', at(0), {
        trialId: id,
        patientId,
        siteId,
        enrolledAt: at(0),
        requestId: crypto.randomUUID(),
      }),
    ]);
  }
}

/**
 * A diary entry completed at `hour`, recorded a minute later, with these answers: a v1 event,
 * as stored before v2 (read as v2 with no site).
 */
function report(
  trialId: string,
  patientId: string,
  hour: number,
  answers: Record<string, number> = { q9: 0, pain: 1 },
  requestId: string = crypto.randomUUID(),
): ReportSubmittedV1 {
  const completedAt = at(hour);
  return {
    id: newEventId(),
    type: 'ReportSubmitted',
    version: 1,
    occurredAt: completedAt,
    recordedAt: new Date(Date.parse(completedAt) + 60_000).toISOString(),
    source: 'test',
    actor: { id: patientId, role: 'patient' },
    correlationId: requestId,
    causationId: requestId,
    data: {
      requestId,
      trialId,
      patientId,
      questionnaire: { id: 'DIARY', version: '1' },
      answers: Object.entries(answers).map(([itemId, value]) => ({ itemId, value })),
      completedAt,
    },
  };
}

/** The same entry as a v2 event that says which site it came from. */
function fromSite(r: ReportSubmittedV1, siteId: string | null): ReportSubmitted {
  return { ...r, version: 2, data: { ...r.data, siteId, device: null } };
}

async function publish(...reports: (ReportSubmittedV1 | ReportSubmitted)[]) {
  const p = new Publisher(conn);
  for (const r of reports) {
    await p.publish(
      reportSubject(r.data.trialId, r.data.patientId),
      enc.encode(JSON.stringify(r)),
      {
        msgId: r.id,
      },
    );
  }
}

/** How many events of `type` MONITORING holds on `subject` (wildcards allowed). */
async function stored(subject: string, type: string): Promise<number> {
  const consumer = await jetstream(conn.nc).consumers.get('MONITORING', {
    filter_subjects: subject,
  });
  let count = 0;
  for (;;) {
    let got = 0;
    let pending = 0;
    for await (const m of await consumer.fetch({ max_messages: 500, expires: 1_000 })) {
      got++;
      pending = m.info.pending;
      if (m.json<{ type: string }>().type === type) count++;
    }
    if (got === 0 || pending === 0) return count;
  }
}

/** Monitoring over a store of its own: projections, outbox relay, watch and app, at `clock`. */
async function monitoring(store: SqlStore, clock: { now: Date }, suffix = '') {
  const log = createLogger('monitoring-test');
  const metrics = new ServiceMetrics('monitoring', { defaults: false });
  const named = <P extends { consumer: { name: string } }>(p: P): P =>
    suffix ? { ...p, consumer: { ...p.consumer, name: `${p.consumer.name}${suffix}` } } : p;
  const running: RunningProjections = await startProjections({
    conn,
    store,
    projections: [named(trials), named(diaries), named(alertsView)],
    metrics,
    log,
  });
  const stores: MonitoringStores = await openStores(conn);
  const now = () => clock.now;
  const relay: OutboxRelay = startOutboxRelay({
    store,
    handle: raiseSignals(stores, now),
    log,
    pollMs: 50,
  });
  const watch = new Watch(store, stores, log, now);
  const app = conformingToOpenApi(
    createApp({
      auth: tokens.keys,
      metrics,
      log,
      ready: {},
      db: store,
      stores,
      conn,
      desk: await DeadLetterDesk.open(conn, log),
      now,
    }),
  );
  return {
    app,
    watch,
    relay,
    stop: async () => {
      await relay.stop();
      await running.stop();
    },
  };
}

describe.each(testStores())('monitoring on $kind', ({ kind, open, cleanup }) => {
  const clock = { now: new Date(at(74)) };
  const id = (name: string) => `${name}-${kind}`.toUpperCase();
  let store: SqlStore;
  let m: Awaited<ReturnType<typeof monitoring>>;
  let monitor: Record<string, string>;
  let investigator: Record<string, string>;
  const get = async <T>(path: string, headers = monitor) => {
    const res = await m.app.request(path, { headers });
    expect(res.status).toBe(200);
    return (await res.json()) as T;
  };

  /**
   * Waits until monitoring knows the trial and its patients: a report is judged against the
   * protocol monitoring has applied when it arrives (rules are set before patients report).
   */
  const known = async (t: string, patients: number) =>
    expect
      .poll(async () => {
        const res = await m.app.request(`/v1/trials/${t}`, { headers: monitor });
        return res.status === 200 ? ((await res.json()) as { patients: number }).patients : -1;
      })
      .toBe(patients);

  beforeAll(async () => {
    store = await open();
    m = await monitoring(store, clock, `-${kind}`);
    monitor = await tokens.header({ sub: 'cra.kim', role: 'monitor', trials: ['*'] });
    investigator = await tokens.header({ sub: 'dr.ng', role: 'investigator', trials: ['*'] });
  });
  afterAll(async () => {
    await m?.stop();
    await store?.close();
    await cleanup();
  });

  it('keeps its API contract', async () => {
    expect(
      await apiContractProblems(authenticatedAs(m.app, investigator), { bodyLimitBytes: 65_536 }),
    ).toEqual([]);
  });

  it('judges each window once it has closed: on time, late, missed, still open', async () => {
    const t = id('COMPLY');
    await trial(
      t,
      [
        ['enrolling', 0],
        ['active', 0],
      ],
      [
        ['P1', 'SITE-A'],
        ['P2', 'SITE-B'],
      ],
    );
    await known(t, 2);
    // Day 1 on time; day 2 late (after its 12 h window, before day 3); day 3 missed; day 4 open.
    await publish(report(t, 'P1', 1), report(t, 'P1', 24 + 13));
    clock.now = new Date(at(72 + 2));
    await expect
      .poll(
        async () =>
          (
            await get<{ items: { patientId: string; compliance: unknown }[] }>(
              `/v1/trials/${t}/patients`,
            )
          ).items,
      )
      .toEqual([
        expect.objectContaining({
          patientId: 'P1',
          compliance: expect.objectContaining({
            expected: 4,
            onTime: 1,
            late: 1,
            missed: 1,
            pending: 1,
            percent: 33.3,
          }),
        }),
        expect.objectContaining({
          patientId: 'P2',
          compliance: expect.objectContaining({ expected: 4, onTime: 0, missed: 3, pending: 1 }),
        }),
      ]);
    // Only once the window has closed is day 4 missed.
    clock.now = new Date(at(72 + 12));
    const later = await get<{ siteTable: { siteId: string; compliance: { missed: number } }[] }>(
      `/v1/trials/${t}`,
    );
    expect(later.siteTable.map((s) => [s.siteId, s.compliance.missed])).toEqual([
      ['SITE-A', 2],
      ['SITE-B', 4],
    ]);
  });

  it('a suspension pauses expectations, and a lock freezes them', async () => {
    const t = id('PAUSE');
    // Suspended from hour 40 to hour 70: day 3 (due at 48 h) is not expected.
    await trial(
      t,
      [
        ['enrolling', 0],
        ['active', 0],
        ['suspended', 40],
        ['active', 70],
        ['closed', 100],
        ['locked', 101],
      ],
      [['P1', 'SITE-A']],
    );
    await known(t, 1);
    await publish(report(t, 'P1', 1));
    clock.now = new Date(at(200));
    const frozen = async () =>
      (
        await get<{ items: { compliance: { expected: number; missed: number } }[] }>(
          `/v1/trials/${t}/patients`,
        )
      ).items[0]?.compliance;
    // Expected: days 1, 2, 4, 5 (due at 0, 24, 72, 96 h); day 3 paused; none after the close.
    // Judged at the lock (hour 101): day 5's window was still open, and stays so.
    const atLock = { expected: 4, onTime: 1, missed: 2, pending: 1 };
    await expect.poll(frozen).toMatchObject(atLock);
    // Completed in day 5's window but recorded after the lock: changes nothing.
    await publish({ ...report(t, 'P1', 97), recordedAt: at(150) });
    clock.now = new Date(at(300));
    expect(await frozen()).toMatchObject(atLock);
    const stillOne = await get<{ items: { compliance: { lastReportAt: string } }[] }>(
      `/v1/trials/${t}/patients`,
    );
    expect(stillOne.items[0]?.compliance.lastReportAt).toBe(at(1));
  });

  it('raises one signal and one alert per report and rule, however often the report comes', async () => {
    const t = id('SIGNAL');
    await trial(
      t,
      [
        ['enrolling', 0],
        ['active', 0],
      ],
      [['P1', 'SITE-A']],
    );
    await known(t, 1);
    const r = report(t, 'P1', 1, { q9: 3, pain: 1 });
    await publish(r, { ...r, id: newEventId() }); // the same report stored twice
    const alertId = alertIdOf(r.data.requestId, 'phq9-item9');
    await expect
      .poll(
        async () =>
          (
            await get<{ items: { alertId: string; status: string; siteId: string }[] }>(
              `/v1/alerts?trialId=${t}`,
            )
          ).items,
      )
      .toEqual([expect.objectContaining({ alertId, status: 'open', siteId: 'SITE-A' })]);
    expect(await stored(alertSubject(t, alertId), 'SafetySignalRaised')).toBe(1);
  });

  it("gives an alert the site its v2 report came from, else the patient's enrolment site", async () => {
    const t = id('SITE');
    await trial(
      t,
      [
        ['enrolling', 0],
        ['active', 0],
      ],
      [
        ['P1', 'SITE-A'],
        ['P2', 'SITE-A'],
      ],
    );
    await known(t, 2);
    const fromB = report(t, 'P1', 1, { q9: 3, pain: 1 });
    const unsaid = report(t, 'P2', 1, { q9: 3, pain: 1 });
    await publish(fromSite(fromB, 'SITE-B'), fromSite(unsaid, null));
    await expect
      .poll(async () =>
        (
          await get<{ items: { patientId: string; siteId: string }[] }>(`/v1/alerts?trialId=${t}`)
        ).items
          .map((a) => [a.patientId, a.siteId])
          .sort(),
      )
      .toEqual([
        ['P1', 'SITE-B'],
        ['P2', 'SITE-A'],
      ]);
  });

  it('worsening compares with the previous answer by completion time, whatever the arrival order', async () => {
    const t = id('WORSE');
    await trial(
      t,
      [
        ['enrolling', 0],
        ['active', 0],
      ],
      [['P1', 'SITE-A']],
    );
    await known(t, 1);
    const first = report(t, 'P1', 1, { q9: 0, pain: 2 });
    const second = report(t, 'P1', 25, { q9: 0, pain: 6 }); // +4 >= 3: worse
    await publish(first);
    await expect
      .poll(async () => (await get<{ items: unknown[] }>(`/v1/trials/${t}/patients`)).items.length)
      .toBe(1);
    await publish(second);
    await expect
      .poll(
        async () =>
          (
            await get<{ items: { ruleId: string; value: number; previousValue: number }[] }>(
              `/v1/alerts?trialId=${t}`,
            )
          ).items,
      )
      .toEqual([expect.objectContaining({ ruleId: 'pain-worse', value: 6, previousValue: 2 })]);
  });

  it('escalates an alert nobody acknowledged in time, once; staff acknowledge and resolve, as themselves', async () => {
    const t = id('ESCALATE');
    await trial(
      t,
      [
        ['enrolling', 0],
        ['active', 0],
      ],
      [
        ['P1', 'SITE-A'],
        ['P2', 'SITE-A'],
      ],
    );
    await known(t, 2);
    const r1 = report(t, 'P1', 1, { q9: 2, pain: 0 });
    const r2 = report(t, 'P2', 1, { q9: 2, pain: 0 });
    await publish(r1, r2);
    const a1 = alertIdOf(r1.data.requestId, 'phq9-item9');
    const a2 = alertIdOf(r2.data.requestId, 'phq9-item9');
    await expect
      .poll(
        async () => (await get<{ items: unknown[] }>(`/v1/alerts?trialId=${t}&status=open`)).items,
      )
      .toHaveLength(2);

    const post = (path: string, body: unknown, headers = investigator) =>
      m.app.request(path, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await post(`/v1/trials/${t}/alerts/${a1}/resolve`, { actionTaken: 'x' })).status).toBe(
      409,
    );
    const outsider = await tokens.header({ sub: 'crc.x', role: 'coordinator', trials: ['OTHER'] });
    expect(
      (await post(`/v1/trials/${t}/alerts/${a1}/acknowledge`, { note: 'x' }, outsider)).status,
    ).toBe(403);
    expect(
      (await post(`/v1/trials/${t}/alerts/${a1}/acknowledge`, { note: 'x' }, monitor)).status,
    ).toBe(403);
    const ack = await post(`/v1/trials/${t}/alerts/${a1}/acknowledge`, {
      note: 'called the patient',
    });
    expect(ack.status).toBe(200);
    expect(await ack.json()).toMatchObject({
      status: 'acknowledged',
      by: { id: 'dr.ng', role: 'investigator' },
    });
    expect((await post(`/v1/trials/${t}/alerts/${a1}/acknowledge`, { note: 'again' })).status).toBe(
      409,
    );

    // Acknowledge within 60 min of the report's recording (hour 1 + 1 min).
    clock.now = new Date(Date.parse(at(1)) + 30 * 60_000);
    await m.watch.once();
    expect(await stored(alertSubject(t, a2), 'AlertEscalated')).toBe(0);
    clock.now = new Date(Date.parse(at(1)) + 62 * 60_000);
    await m.watch.once();
    await m.watch.once(); // looked at again: nothing more
    expect(await stored(alertSubject(t, a2), 'AlertEscalated')).toBe(1);
    expect(await stored(alertSubject(t, a1), 'AlertEscalated')).toBe(0); // acknowledged in time

    expect(
      (
        await post(`/v1/trials/${t}/alerts/${a1}/resolve`, {
          actionTaken: 'referred to the psychiatrist',
        })
      ).status,
    ).toBe(200);
    await expect
      .poll(
        async () =>
          (
            await get<{
              items: {
                alertId: string;
                status: string;
                acknowledged: unknown;
                resolved: unknown;
                escalatedAt: string | null;
              }[];
            }>(`/v1/alerts?trialId=${t}`)
          ).items,
      )
      .toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            alertId: a1,
            status: 'resolved',
            acknowledged: expect.objectContaining({
              by: { id: 'dr.ng', role: 'investigator' },
              note: 'called the patient',
            }),
            resolved: expect.objectContaining({
              by: { id: 'dr.ng', role: 'investigator' },
              actionTaken: 'referred to the psychiatrist',
            }),
          }),
          expect.objectContaining({ alertId: a2, status: 'open', escalatedAt: expect.any(String) }),
        ]),
      );
  });

  it('reports non-compliance once per patient and breach, also when looked at again', async () => {
    const t = id('BREACH');
    await trial(
      t,
      [
        ['enrolling', 0],
        ['active', 0],
      ],
      [
        ['P1', 'SITE-A'],
        ['P2', 'SITE-A'],
      ],
    );
    await known(t, 2);
    await publish(report(t, 'P2', 1), report(t, 'P2', 25), report(t, 'P2', 49));
    clock.now = new Date(at(36)); // day 1 and day 2 windows closed for P1: 2 missed in a row
    await expect
      .poll(async () => {
        const { items } = await get<{ items: { compliance: { onTime: number } }[] }>(
          `/v1/trials/${t}/patients`,
        );
        return items.map((p) => p.compliance.onTime);
      })
      .toEqual([0, 2]);
    await m.watch.once();
    await expect
      .poll(async () => (await get<{ items: unknown[] }>(`/v1/trials/${t}/findings`)).items)
      .toEqual([expect.objectContaining({ patientId: 'P1', breachId: at(0), missedInARow: 2 })]);
    clock.now = new Date(at(60));
    await m.watch.once(); // the same breach, still going: nothing new
    await m.watch.once();
    expect(await stored(`monitoring.compliance.${t}.>`, 'NonComplianceDetected')).toBe(1);
  });

  it('a rebuild from sequence 1 into a new store publishes no signal or finding again', async () => {
    const fresh = await open();
    const replay = await monitoring(fresh, clock, `-${kind}-replay`);
    try {
      const t = id('SIGNAL');
      await expect
        .poll(
          async () => {
            const res = await replay.app.request(`/v1/alerts?trialId=${t}`, { headers: monitor });
            return ((await res.json()) as { items: unknown[] }).items;
          },
          { timeout: 20_000 },
        )
        .toHaveLength(1);
      await expect.poll(() => replay.relay.drain()).toBe(0); // everything queued again was done
      clock.now = new Date(at(60));
      await replay.watch.once();
      expect(await stored(`monitoring.alerts.${t}.>`, 'SafetySignalRaised')).toBe(1);
      expect(await stored(`monitoring.compliance.${id('BREACH')}.>`, 'NonComplianceDetected')).toBe(
        1,
      );
    } finally {
      await replay.stop();
      await fresh.close();
    }
  });
});
