import {
  enrolmentSubject,
  newEventId,
  projectSubject,
  protocolSubject,
  reportSubject,
  type AnyEnvelope,
  type ReportSubmitted,
} from '@cohort/contracts';
import {
  DeadLetterDesk,
  JetStreamEventStore,
  Publisher,
  startOutboxRelay,
  type Connection,
  type Projection,
} from '@cohort/infra';
import {
  Rebuild,
  connect,
  createLogger,
  NatsServer,
  provision,
  readModelRows,
  reportSubmitted,
  ServiceMetrics,
  startProjections,
  testStores,
  topology,
  type OutboxRelay,
  type RunningProjections,
  type SqlStore,
} from '@cohort/infra/testing';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertsView } from './alerts-view.js';
import { diaries } from './diaries.js';
import { raiseSignals } from './raise.js';
import { openStores } from './stores.js';
import { trials } from './trials.js';

/** How long work may take to be applied on a busy machine: a bound, not an expectation. */
const DRAIN_WAIT = { timeout: 30_000, interval: 100 };

const enc = new TextEncoder();
const log = createLogger('monitoring-rebuild-test');
const ops = { id: 'ops.kim', role: 'ops' as const };
let server: NatsServer;
let conn: Connection;
let desk: DeadLetterDesk;

beforeAll(async () => {
  server = await NatsServer.start();
  conn = await connect({ servers: server.url, name: 'monitoring-rebuild-test' });
  await provision(conn, await jetstreamManager(conn.nc), topology());
  desk = await DeadLetterDesk.open(conn, log);
});
afterAll(async () => {
  await desk?.stop();
  await conn?.drain();
  await server?.dispose();
});

function envelope(type: string, data: unknown): AnyEnvelope {
  const at = new Date(Date.now() - 86_400_000).toISOString();
  return {
    id: newEventId(),
    type,
    version: 1,
    occurredAt: at,
    recordedAt: at,
    source: 'test',
    actor: { id: 'dr.lee', role: 'sponsor' },
    reason: 'test',
    correlationId: 'test',
    causationId: 'test',
    data,
  };
}

async function append(subject: string, events: AnyEnvelope[]) {
  const store = await JetStreamEventStore.open(conn, 'PROJECTS', () => subject);
  await store.append('x', events, 0);
}

const rule = (ruleId: string, itemId: string, condition: unknown) =>
  envelope('SafetyRuleSet', {
    projectId: '',
    rule: {
      ruleId,
      questionnaireId: 'DIARY',
      itemId,
      condition,
      severity: 'high',
      acknowledgeWithinMinutes: 60,
    },
  });

/**
 * A trial with a safety rule on q9 (at least 2) and `patients` enrolled. Not a worsening rule:
 * whether an entry is worse than the one before depends on which entries were applied when it
 * arrived, so a rebuild in stream order may decide a signal that live delivery, with entries
 * redelivered late, did not (the swap then queues it: `effectsMerged`).
 */
async function trial(trialId: string, patients: string[]) {
  await append(projectSubject(trialId), [
    envelope('ProjectCreated', {
      projectId: trialId,
      name: `Trial ${trialId}`,
      requestId: crypto.randomUUID(),
      status: 'planned',
    }),
  ]);
  const rules = [rule('phq9-item9', 'q9', { kind: 'at-least', value: 2 })].map((e) => ({
    ...e,
    data: { ...(e.data as object), projectId: trialId },
  }));
  await append(protocolSubject(trialId), rules);
  for (const patientId of patients) {
    await append(enrolmentSubject(trialId, patientId), [
      envelope('PatientEnrolled', {
        trialId,
        patientId,
        siteId: 'SITE-LYON',
        enrolledAt: new Date(Date.now() - 86_400_000).toISOString(),
        requestId: crypto.randomUUID(),
      }),
    ]);
  }
}

async function publish(r: ReportSubmitted) {
  await new Publisher(conn).publish(
    reportSubject(r.data.trialId, r.data.patientId),
    enc.encode(JSON.stringify(r)),
    { msgId: crypto.randomUUID() },
  );
}

/** The SafetySignalRaised events of a trial in MONITORING, by alert id. */
async function signalsRaised(trialId: string): Promise<string[]> {
  const consumer = await jetstream(conn.nc).consumers.get('MONITORING');
  const alerts: string[] = [];
  for (;;) {
    let got = 0;
    let pending = 0;
    for await (const m of await consumer.fetch({ max_messages: 500, expires: 1_000 })) {
      got++;
      pending = m.info.pending;
      const e = m.json<{ type: string; data: { alertId: string; trialId: string } }>();
      if (e.type === 'SafetySignalRaised' && e.data.trialId === trialId)
        alerts.push(e.data.alertId);
    }
    if (got === 0 || pending === 0) return alerts.sort();
  }
}

/** The live projection, with its own durable per store, failing the first delivery of `failOnce`. */
function flaky(p: Projection, name: string, failOnce: Set<string>): Projection {
  return {
    ...p,
    consumer: { ...p.consumer, name },
    applyBatch: undefined,
    apply: async (tx, event, meta) => {
      if (failOnce.delete(event.id)) throw new Error(`first delivery of ${event.id} fails`);
      await p.apply(tx, event, meta);
    },
  };
}

describe.each(testStores())(
  'rebuilding monitoring read models on $kind',
  ({ kind, open, cleanup }) => {
    const trialId = `T-REBUILD-${kind}`.toUpperCase();
    const projections = [trials, diaries, alertsView] as Projection[];
    const named = (p: Projection) => `${p.consumer.name}-${kind}`;
    const failOnce = new Set<string>();
    let store: SqlStore;
    let running: RunningProjections;
    let relay: OutboxRelay;

    const settled = () =>
      expect
        .poll(async () => {
          const jsm = await jetstreamManager(conn.nc);
          let open = failOnce.size;
          for (const p of projections) {
            const info = await jsm.consumers.info(p.consumer.stream, named(p));
            open += info.num_pending + info.num_ack_pending;
          }
          const { rows } = await store.query<{ n: number }>(
            'SELECT count(*)::int AS n FROM cohort_outbox WHERE sent_at IS NULL',
          );
          return open + rows[0]!.n;
        }, DRAIN_WAIT)
        .toBe(0);

    beforeAll(async () => {
      store = await open();
      running = await startProjections({
        conn,
        store,
        projections: projections.map((p) => flaky(p, named(p), failOnce)),
        metrics: new ServiceMetrics('monitoring', { defaults: false }),
        log,
        env: { SUBSCRIBER_BACKOFF_MS: '100' },
      });
      await running.started;
      relay = startOutboxRelay({
        store,
        handle: raiseSignals(await openStores(conn), () => new Date()),
        log,
        pollMs: 50,
      });
    });
    afterAll(async () => {
      await relay?.stop();
      await running?.stop();
      await store?.close();
      await cleanup();
    });

    it('builds tables row for row equal to the live ones and raises no signal twice', async () => {
      const patients = ['P1', 'P2', 'P3', 'P4'];
      await trial(trialId, patients);
      // Reports are judged against the rules monitoring holds when they arrive.
      await expect
        .poll(async () => {
          const { rows } = await store.query<{ n: number }>(
            'SELECT count(*)::int AS n FROM patients WHERE trial_id = $1',
            [trialId],
          );
          return rows[0]!.n;
        }, DRAIN_WAIT)
        .toBe(patients.length);

      const reports = Array.from({ length: 36 }, (_, i) => {
        const r = reportSubmitted({
          trialId,
          patientId: patients[i % patients.length],
          completedAt: new Date(Date.now() - (36 - i) * 3_600_000).toISOString(),
        });
        r.data.questionnaire = { id: 'DIARY', version: '1' };
        // Every fifth raises the q9 rule; pain climbs and falls, so some entries are worse by 3.
        r.data.answers = [
          { itemId: 'q9', value: i % 5 === 0 ? 3 : 0 },
          { itemId: 'pain', value: (i * 7) % 10 },
        ];
        return r;
      });
      for (const r of reports.filter((_, i) => i % 4 === 1)) failOnce.add(r.id);
      for (const r of reports) await publish(r);
      await settled();
      // Copies stored long after the originals: the same entry, the same alerts.
      for (const r of reports.slice(0, 10)) await publish(r);
      await settled();

      const raised = await signalsRaised(trialId);
      expect(raised.length).toBeGreaterThanOrEqual(8);
      expect(new Set(raised).size).toBe(raised.length);
      const live = await readModelRows(store);
      expect(live.diary_entries!.filter((r) => r.includes(trialId))).toHaveLength(36);
      expect(live.alerts!.filter((r) => r.includes(trialId))).toHaveLength(raised.length);

      // In the order a service lists them: diaries reads the rules the trials keep.
      for (const p of projections) {
        const projection = { ...p, consumer: { ...p.consumer, name: named(p) } };
        const job = await Rebuild.start(
          { conn, store, projection, log, desk },
          { actor: ops, reason: 'test', onFailure: 'stop' },
        );
        // Every effect the rebuild decided was decided live already: none is queued again.
        expect(await job.done).toMatchObject({ status: 'swapped', effectsMerged: 0 });
      }
      expect(await readModelRows(store)).toEqual(live);
      expect(await relay.drain()).toBe(0);
      expect(await signalsRaised(trialId)).toEqual(raised);

      // Live delivery goes on: a new signal is raised once, an old copy raises nothing.
      const next = reportSubmitted({ trialId, patientId: 'P1' });
      next.data.questionnaire = { id: 'DIARY', version: '1' };
      next.data.answers = [{ itemId: 'q9', value: 2 }];
      await publish(next);
      await publish(reports[0]!);
      await settled();
      await expect
        .poll(async () => (await signalsRaised(trialId)).length, DRAIN_WAIT)
        .toBe(raised.length + 1);
      const after = await readModelRows(store);
      expect(after.diary_entries!.filter((r) => r.includes(trialId))).toHaveLength(37);
    });
  },
);
