import { parseReportsEvent, reportSubject, type ReportsEvent } from '@cohort/contracts';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Connection } from '../connection.js';
import { DeadLetterDesk } from '../deadletters/desk.js';
import { createApi, DEFAULT_BODY_LIMIT_BYTES } from '../http/api.js';
import { createLogger } from '../logger.js';
import { ServiceMetrics } from '../metrics.js';
import { Publisher } from '../publisher.js';
import { openStore, type SqlStore } from '../store/sql-store.js';
import type { Projection } from '../subscriber/projection.js';
import { reportSubmitted } from '../testing/events.js';
import { NatsServer } from '../testing/nats-server.js';
import { apiContractProblems, conformingToOpenApi } from '../testing/openapi.js';
import { authenticatedAs, testTokens } from '../testing/tokens.js';
import { provision, topology } from '../topology.js';
import { Rebuilds } from './rebuilds.js';
import { rebuildRoutes } from './routes.js';

/** How long work may take to be applied on a busy machine: a bound, not an expectation. */
const DRAIN_WAIT = { timeout: 30_000, interval: 100 };

const log = createLogger('rebuild-routes-test');
const tokens = await testTokens();
const TRIAL = 'RBHTTP';
let server: NatsServer;
let conn: Connection;
let store: SqlStore;
let desk: DeadLetterDesk;
let rebuilds: Rebuilds;

const projection: Projection<ReportsEvent> = {
  consumer: { stream: 'REPORTS', name: 'svc-report-ids', filterSubject: `reports.${TRIAL}.*` },
  parse: parseReportsEvent,
  migrations: [
    { version: 1, name: 'ids', sql: 'CREATE TABLE report_ids (request_id text PRIMARY KEY)' },
  ],
  async apply(tx, e) {
    await tx.query('INSERT INTO report_ids VALUES ($1)', [e.data.requestId]);
  },
};

beforeAll(async () => {
  server = await NatsServer.start();
  conn = await connect({ servers: server.url, name: 'rebuild-routes-test' });
  await provision(conn, await jetstreamManager(conn.nc), topology());
  const publisher = new Publisher(conn);
  for (let i = 0; i < 5; i++) {
    const e = reportSubmitted({ trialId: TRIAL, patientId: `P${i}` });
    await publisher.publish(
      reportSubject(TRIAL, `P${i}`),
      new TextEncoder().encode(JSON.stringify(e)),
      {
        msgId: e.id,
      },
    );
  }
  store = await openStore({ service: 'svc' });
  desk = await DeadLetterDesk.open(conn, log);
  rebuilds = new Rebuilds({
    service: 'svc',
    conn,
    store,
    projections: [projection],
    log,
    desk,
  });
});

afterAll(async () => {
  await rebuilds?.stop();
  await desk?.stop();
  await store?.close();
  await conn?.drain();
  await server?.dispose();
});

function mounted() {
  const app = createApi({
    service: 'svc',
    description: 'the rebuild routes',
    auth: tokens.keys,
    metrics: new ServiceMetrics('svc', { defaults: false }),
    log,
    ready: {},
  });
  app.route('/v1/rebuilds', rebuildRoutes(rebuilds, log));
  return conformingToOpenApi(app);
}

const post = (app: ReturnType<typeof mounted>, path: string, body: unknown) =>
  app.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('the rebuild routes', () => {
  it('keep the API contract: documented, JSON bodies only, bounded', async () => {
    const ops = await tokens.header({ sub: 'ops.kim', role: 'ops', trials: [] });
    const app = authenticatedAs(mounted(), ops);
    expect(
      await apiContractProblems(app, { bodyLimitBytes: DEFAULT_BODY_LIMIT_BYTES, headers: ops }),
    ).toEqual([]);
  });

  it('show the plan, start once for ops, refuse a second start, and follow it to the swap', async () => {
    const ops = await tokens.header({ sub: 'ops.kim', role: 'ops', trials: [] });
    const app = authenticatedAs(mounted(), ops);

    const plan = await app.request('/v1/rebuilds/report-ids');
    expect(plan.status).toBe(200);
    expect(await plan.json()).toMatchObject({
      projection: 'report-ids',
      consumer: 'svc-report-ids',
      stream: 'REPORTS',
      messages: 5,
      fromSeq: 1,
      tables: ['report_ids'],
      rebuild: null,
    });
    // Planning changed nothing: no table, no rebuild recorded.
    const tables = await store.query(
      "SELECT table_name FROM information_schema.tables WHERE table_name = 'report_ids'",
    );
    expect(tables.rows).toEqual([]);

    expect((await app.request('/v1/rebuilds/nothing-here')).status).toBe(404);
    const noExecute = await post(app, '/v1/rebuilds/report-ids', { onFailure: 'stop' });
    expect(noExecute.status).toBe(400);
    expect(((await noExecute.json()) as { issues: { path: string }[] }).issues[0]!.path).toBe(
      'execute',
    );
    const badMode = await post(app, '/v1/rebuilds/report-ids', {
      execute: true,
      onFailure: 'skip',
    });
    expect(badMode.status).toBe(400);

    const monitor = await tokens.header({ sub: 'nurse.jones', role: 'monitor', trials: ['*'] });
    expect((await app.request('/v1/rebuilds/report-ids', { headers: monitor })).status).toBe(403);

    const started = await post(app, '/v1/rebuilds/report-ids', { execute: true, reason: 'check' });
    expect(started.status).toBe(202);
    const again = await post(app, '/v1/rebuilds/report-ids', { execute: true });
    const status = ((await started.json()) as { rebuild: { status: string } }).rebuild.status;
    // The first may have swapped already; while it runs, a second is refused.
    if (status === 'running') expect(again.status).toBe(409);

    await expect
      .poll(async () => {
        const r = (await (await app.request('/v1/rebuilds/report-ids')).json()) as {
          rebuild: { status: string; applied: number; startedBy: { id: string } };
        };
        return r.rebuild;
      }, DRAIN_WAIT)
      .toMatchObject({ status: 'swapped', startedBy: { id: 'ops.kim' } });
    const rows = await store.query('SELECT count(*)::int AS n FROM report_ids');
    expect(rows.rows[0]).toEqual({ n: 5 });
  });
});
