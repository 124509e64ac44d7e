import {
  newEventId,
  projectSubject,
  reportSubject,
  trialReportsFilter,
  type AnyEnvelope,
  type ReportSubmitted,
} from '@cohort/contracts';
import {
  DeadLetterDesk,
  JetStreamEventStore,
  Publisher,
  type Connection,
  type Projection,
} from '@cohort/infra';
import {
  Rebuild,
  connect,
  createLogger,
  NatsServer,
  readModelRows,
  reportSubmitted,
  ServiceMetrics,
  startProjections,
  testStores,
  type RunningProjections,
  type SqlStore,
} from '@cohort/infra/testing';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caseReports } from './case-reports.js';
import { trialStatus } from './trial-status.js';

/** How long a burst may take to be applied on a busy machine: a bound, not an expectation. */
const DRAIN_WAIT = { timeout: 30_000, interval: 100 };

const enc = new TextEncoder();
const log = createLogger('edc-rebuild-test');
const ops = { id: 'ops.kim', role: 'ops' as const };
let server: NatsServer;
let conn: Connection;
let desk: DeadLetterDesk;

beforeAll(async () => {
  server = await NatsServer.start();
  conn = await connect({ servers: server.url, name: 'edc-rebuild-test' });
});
afterAll(async () => {
  await desk?.stop();
  await conn?.drain();
  await server?.dispose();
});

function envelope(type: string, data: unknown): AnyEnvelope {
  const at = new Date().toISOString();
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

/** A trial created and moved to active then closed, on PROJECTS as project-management writes it. */
async function trialLifecycle(trialId: string) {
  const store = await JetStreamEventStore.open(conn, 'PROJECTS', () => projectSubject(trialId));
  const effectiveAt = new Date().toISOString();
  await store.append(
    trialId,
    [
      envelope('ProjectCreated', {
        projectId: trialId,
        name: `Trial ${trialId}`,
        requestId: crypto.randomUUID(),
        status: 'planned',
      }),
      envelope('ProjectStatusChanged', {
        projectId: trialId,
        from: 'planned',
        to: 'active',
        effectiveAt,
      }),
      envelope('ProjectStatusChanged', {
        projectId: trialId,
        from: 'active',
        to: 'closed',
        effectiveAt,
      }),
    ],
    0,
  );
}

/** Stores the report; each call is another message in the stream (a copy when published again). */
async function publish(r: ReportSubmitted) {
  await new Publisher(conn).publish(
    reportSubject(r.data.trialId, r.data.patientId),
    enc.encode(JSON.stringify(r)),
    { msgId: crypto.randomUUID() },
  );
}

/**
 * The projection as the live side runs it, with its own durable per store, failing the first
 * delivery of each event in `failOnce`: those are redelivered.
 */
function flaky<P extends Projection>(p: P, consumer: P['consumer'], failOnce: Set<string>): P {
  return {
    ...p,
    consumer,
    applyBatch: undefined,
    apply: async (tx, event, meta) => {
      if (failOnce.delete(event.id)) throw new Error(`first delivery of ${event.id} fails`);
      await p.apply(tx, event, meta);
    },
  };
}

describe.each(testStores())('rebuilding EDC read models on $kind', ({ kind, open, cleanup }) => {
  const trialId = `T-REBUILD-${kind}`.toUpperCase();
  const consumers = {
    caseReports: {
      ...caseReports.consumer,
      name: `${caseReports.consumer.name}-${kind}`,
      filterSubject: trialReportsFilter(trialId),
    },
    trialStatus: { ...trialStatus.consumer, name: `${trialStatus.consumer.name}-${kind}` },
  };
  const failOnce = new Set<string>();
  let store: SqlStore;
  let running: RunningProjections;

  const drained = () =>
    expect
      .poll(async () => {
        const jsm = await jetstreamManager(conn.nc);
        let open = failOnce.size;
        for (const c of Object.values(consumers)) {
          const info = await jsm.consumers.info(c.stream, c.name);
          open += info.num_pending + info.num_ack_pending;
        }
        return open;
      }, DRAIN_WAIT)
      .toBe(0);

  beforeAll(async () => {
    store = await open();
    running = await startProjections({
      conn,
      store,
      projections: [
        flaky(caseReports as Projection, consumers.caseReports, failOnce),
        flaky(trialStatus as Projection, consumers.trialStatus, failOnce),
      ],
      metrics: new ServiceMetrics('edc', { defaults: false }),
      log,
      env: { SUBSCRIBER_BACKOFF_MS: '100' },
    });
    await running.started;
    desk ??= await DeadLetterDesk.open(conn, log);
  });
  afterAll(async () => {
    await running?.stop();
    await store?.close();
    await cleanup();
  });

  it('builds tables row for row equal to the live ones after a burst with copies and redeliveries', async () => {
    await trialLifecycle(trialId);
    const reports = Array.from({ length: 40 }, (_, i) =>
      reportSubmitted({
        trialId,
        patientId: `P${i % 7}`,
        siteId: i % 2 ? 'SITE-LYON' : null,
        completedAt: new Date(Date.now() - (40 - i) * 60_000).toISOString(),
      }),
    );
    for (const r of reports.filter((_, i) => i % 5 === 0)) failOnce.add(r.id);
    for (const r of reports) await publish(r);
    await drained();
    // Copies stored long after the originals (past the dedup window): folded by requestId.
    for (const r of reports.slice(0, 8)) await publish(r);
    await drained();

    const live = await readModelRows(store);
    expect(live.case_reports).toHaveLength(40);
    expect(live.trial_status!.some((r) => r.includes(trialId) && r.includes('closed'))).toBe(true);

    for (const projection of [
      { ...caseReports, consumer: consumers.caseReports },
      { ...trialStatus, consumer: consumers.trialStatus },
    ] as Projection[]) {
      const job = await Rebuild.start(
        { conn, store, projection, log, desk },
        { actor: ops, reason: 'test', onFailure: 'stop' },
      );
      expect(await job.done).toMatchObject({ status: 'swapped', failedSeq: null });
    }
    expect(await readModelRows(store)).toEqual(live);

    // Live delivery goes on in the rebuilt tables: a new report once, an old copy not at all.
    const next = reportSubmitted({ trialId, patientId: 'P9' });
    await publish(next);
    await publish(reports[20]!);
    await drained();
    const after = await readModelRows(store);
    expect(after.case_reports).toHaveLength(41);
    expect(after.case_reports!.filter((r) => r.includes(next.id))).toHaveLength(1);
  });
});
