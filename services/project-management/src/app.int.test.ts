import { projectSubject, protocolSubject, reportSubject, Streams } from '@cohort/contracts';
import { JetStreamEventStore, type EventStore, Publisher, type Connection } from '@cohort/infra';
import {
  connect,
  createLogger,
  DEFAULT_BODY_LIMIT_BYTES as LIMIT,
  openStore,
  provision,
  ServiceMetrics,
  Subscriber,
  SubscriberMetrics,
  topology,
  type SqlStore,
  apiContractProblems,
  authenticatedAs,
  conformingToOpenApi,
  NatsServer,
  reportSubmitted,
  testStores,
  testTokens,
  type TestTokens,
} from '@cohort/infra/testing';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from './app.js';
import type { Stores } from './commands.js';
import { enrolmentSubjectOf } from './enrolment.js';
import {
  listPortfolio,
  portfolio,
  PORTFOLIO_CONSUMER,
  REPORT_COUNTS_CONSUMER,
  reportCounts,
} from './portfolio.js';
import { decide, evolve, initial } from './project.js';

const sponsor = { id: 'dr.lee', role: 'sponsor' as const };
let tokens: TestTokens;
let server: NatsServer;
let conn: Connection;
let jsm: JetStreamManager;
let db: SqlStore;
let app: ReturnType<typeof createApp>;
let events: EventStore;
let stores: Stores;
const subscribers: Subscriber[] = [];

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  app.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
const status = (id: string, body: Record<string, unknown>) =>
  post(`/v1/projects/${id}/status`, body);

beforeAll(async () => {
  server = await NatsServer.start();
  conn = await connect({ servers: server.url, name: 'pm-test' });
  jsm = await jetstreamManager(conn.nc);
  await provision(conn, jsm, topology());
  db = await openStore({ service: 'pm' });
  const metrics = new ServiceMetrics('project-management', { defaults: false });
  const sm = new SubscriberMetrics(metrics.registry);
  for (const p of [portfolio, reportCounts]) {
    const s = new Subscriber(conn, db, p, sm, createLogger('t'), { lingerMs: 5 });
    await s.start();
    subscribers.push(s);
  }
  events = await JetStreamEventStore.open(conn, Streams.PROJECTS.name, projectSubject);
  stores = {
    projects: events,
    protocols: await JetStreamEventStore.open(conn, Streams.PROJECTS.name, protocolSubject),
    enrolments: await JetStreamEventStore.open(conn, Streams.PROJECTS.name, enrolmentSubjectOf),
  };
  tokens = await testTokens();
  app = authenticatedAs(
    conformingToOpenApi(
      createApp({
        auth: tokens.keys,
        stores,
        db,
        metrics,
        log: createLogger('t'),
        ready: {},
      }),
    ),
    await tokens.header({ sub: sponsor.id, role: sponsor.role, trials: ['*'] }),
  );
});

afterAll(async () => {
  for (const s of subscribers) await s.stop();
  await db?.close();
  await conn?.drain();
  await server?.dispose();
});

async function create(projectId: string, requestId: string = crypto.randomUUID()) {
  return post('/v1/projects', { requestId, projectId, name: `Trial ${projectId}` });
}

describe('project-management HTTP', () => {
  it('keeps its API contract: a valid OpenAPI 3.1 document of every route; bodies JSON-only and bounded', async () => {
    expect(await apiContractProblems(app, { bodyLimitBytes: LIMIT })).toEqual([]);
  });

  it('creates a project once per requestId', async () => {
    const requestId = crypto.randomUUID();
    const first = await create('TR-1', requestId);
    expect(first.status).toBe(201);
    expect(await first.json()).toMatchObject({ projectId: 'TR-1', status: 'planned', version: 1 });
    const again = await create('TR-1', requestId);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ version: 1 });
    const other = await create('TR-1');
    expect(other.status).toBe(409);
    const renamed = await post('/v1/projects', {
      requestId,
      projectId: 'TR-1',
      name: 'Another name',
    });
    expect(renamed.status).toBe(409);
    expect(await renamed.json()).toMatchObject({ error: 'request_id_conflict', requestId });
    expect((await create('bad.id')).status).toBe(400);
  });

  it('400 for a name no store can hold exactly (a NUL), creating nothing', async () => {
    const res = await post('/v1/projects', {
      requestId: crypto.randomUUID(),
      projectId: 'TR-NUL',
      name: 'Asthma\u0000diary',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { issues: { path: string }[] }).issues[0]!.path).toBe('name');
    expect((await app.request('/v1/projects/TR-NUL')).status).toBe(404);
  });

  it('changes status at the expected version; 409 with the current version when stale', async () => {
    const ok = await status('TR-1', { to: 'enrolling', expectedVersion: 1, reason: 'sites ready' });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ status: 'enrolling', version: 2 });
    const stale = await status('TR-1', {
      to: 'active',
      expectedVersion: 1,
      reason: 'first patient in',
    });
    expect(stale.status).toBe(409);
    expect(await stale.json()).toMatchObject({ error: 'version_conflict', currentVersion: 2 });
  });

  it('422 for a transition that is not allowed, naming the allowed ones; 400 without a reason', async () => {
    const r = await status('TR-1', { to: 'closed', expectedVersion: 2, reason: 'x' });
    expect(r.status).toBe(422);
    expect(await r.json()).toMatchObject({
      error: 'transition_not_allowed',
      from: 'enrolling',
      allowed: ['active'],
    });
    expect(
      (await status('TR-1', { to: 'active', expectedVersion: 2, reason: 'first patient in' }))
        .status,
    ).toBe(200);
    const noReason = await status('TR-1', { to: 'suspended', expectedVersion: 3 });
    expect(noReason.status).toBe(400);
    expect(await noReason.json()).toMatchObject({ issues: [{ path: 'reason' }] });
    expect((await status('NOPE', { to: 'active', expectedVersion: 0, reason: 'x' })).status).toBe(
      404,
    );
    expect((await status('TR-1', { to: 'wherever', expectedVersion: 3 })).status).toBe(400);
  });

  it('two concurrent changes at the same version: one 200, one 409, one new event', async () => {
    const before = (await jsm.streams.info('PROJECTS', { subjects_filter: 'projects.TR-1' })).state
      .subjects!['projects.TR-1'];
    const results = await Promise.all([
      status('TR-1', { to: 'suspended', expectedVersion: 3, reason: 'safety review' }),
      status('TR-1', { to: 'closed', expectedVersion: 3, reason: 'enrolment target met' }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    const after = (await jsm.streams.info('PROJECTS', { subjects_filter: 'projects.TR-1' })).state
      .subjects!['projects.TR-1'];
    expect(after).toBe(before! + 1);
  });

  it('shows state and the whole history with who and why', async () => {
    const state = (await (await app.request('/v1/projects/TR-1')).json()) as {
      status: string;
      version: number;
    };
    expect(['suspended', 'closed']).toContain(state.status);
    expect(state.version).toBe(4);
    const h = (await (await app.request('/v1/projects/TR-1/history')).json()) as {
      items: {
        version: number;
        from: string | null;
        to: string;
        actor: { id: string };
        reason: string | null;
      }[];
    };
    expect(h.items.map((i) => [i.version, i.from, i.to])).toEqual([
      [1, null, 'planned'],
      [2, 'planned', 'enrolling'],
      [3, 'enrolling', 'active'],
      [4, 'active', state.status],
    ]);
    expect(h.items.every((i) => i.actor.id === 'dr.lee')).toBe(true);
    expect(h.items[3]!.reason).toMatch(/safety review|enrolment target met/);
    expect((await app.request('/v1/projects/NOPE')).status).toBe(404);
    expect((await app.request('/v1/projects/bad.id')).status).toBe(400);
    expect((await app.request('/v1/projects/bad.id/history')).status).toBe(400);
  });

  it('keeps a portfolio with each project status and report count', async () => {
    await create('TR-2');
    const p = new Publisher(conn);
    for (let i = 0; i < 7; i++) {
      const e = reportSubmitted({ trialId: 'TR-2', patientId: `P${i}` });
      await p.publish(reportSubject('TR-2', `P${i}`), new TextEncoder().encode(JSON.stringify(e)), {
        msgId: e.id,
      });
    }
    await expect
      .poll(
        async () =>
          ((await (await app.request('/v1/projects')).json()) as { items: unknown[] }).items,
        {
          timeout: 10_000,
        },
      )
      .toEqual([
        expect.objectContaining({ projectId: 'TR-1', reports: 0 }),
        expect.objectContaining({ projectId: 'TR-2', status: 'planned', reports: 7 }),
      ]);
  });
  it('records a backdated change at the server clock, effective when the client says', async () => {
    await create('TR-3');
    const effectiveAt = new Date(Date.now() - 86_400_000).toISOString();
    const before = Date.now();
    expect(
      (await status('TR-3', { to: 'enrolling', expectedVersion: 1, effectiveAt, reason: 'ready' }))
        .status,
    ).toBe(200);
    const h = (await (await app.request('/v1/projects/TR-3/history')).json()) as {
      items: { at: string; effectiveAt: string }[];
    };
    expect(h.items[1]!.effectiveAt).toBe(effectiveAt);
    expect(Date.parse(h.items[1]!.at)).toBeGreaterThanOrEqual(before);
  });

  it('keeps the X-Correlation-Id of a request on its event, and ignores an empty one', async () => {
    const body = { requestId: crypto.randomUUID(), projectId: 'TR-4', name: 'Trial TR-4' };
    const created = await post('/v1/projects', body, { 'x-correlation-id': 'visit-42' });
    expect(created.status).toBe(201);
    const changed = await post(
      '/v1/projects/TR-4/status',
      { to: 'enrolling', expectedVersion: 1, reason: 'site ready' },
      { 'x-correlation-id': '' },
    );
    expect(changed.status).toBe(200);
    expect((await app.request('/v1/projects/TR-4')).status).toBe(200); // still readable
    const stored = (await events.read('TR-4')).events.map((e) => e.event);
    expect(stored.map((e) => e.correlationId)).toEqual(['visit-42', expect.stringMatching(/.+/)]);
    expect(stored[0]!.causationId).toBe(body.requestId);
  });
});

describe("a trial's protocol and its patients", () => {
  const put = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    app.request(path, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  const schedule = {
    questionnaireId: 'SLEEP-DIARY',
    frequency: { kind: 'every', days: 1 },
    windowHours: 24,
    nonCompliance: { kind: 'missed-in-a-row', count: 3 },
    reason: 'protocol v1',
  };
  const rule = {
    questionnaireId: 'PHQ-9',
    itemId: 'q9',
    condition: { kind: 'at-least', value: 2 },
    severity: 'high',
    acknowledgeWithinMinutes: 60,
    reason: 'PHQ-9 item 9 needs a clinician',
  };
  let coordinator: Record<string, string>;

  beforeAll(async () => {
    coordinator = await tokens.header({ sub: 'crc.ortiz', role: 'coordinator', trials: ['TR-P'] });
    expect((await create('TR-P')).status).toBe(201);
  });

  it('the sponsor sets the schedule and a safety rule; staff read them; others may not set them', async () => {
    expect((await put('/v1/projects/TR-P/schedule', schedule)).status).toBe(200);
    expect((await put('/v1/projects/TR-P/safety-rules/phq9-item9', rule)).status).toBe(200);
    expect((await put('/v1/projects/TR-P/schedule', schedule, coordinator)).status).toBe(403);
    expect((await put('/v1/projects/TR-P/schedule', { ...schedule, actor: sponsor })).status).toBe(
      400,
    );
    expect((await put('/v1/projects/NOPE/schedule', schedule)).status).toBe(404);
    const read = await app.request('/v1/projects/TR-P/protocol', { headers: coordinator });
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({
      schedule: { questionnaireId: 'SLEEP-DIARY', windowHours: 24 },
      rules: [{ ruleId: 'phq9-item9', condition: { kind: 'at-least', value: 2 } }],
    });
    const stored = await events.read('TR-P'); // the project itself is unchanged by its protocol
    expect(stored.version).toBe(1);
  });

  it('a coordinator enrols a patient once per requestId, only while the trial enrols', async () => {
    const body = { requestId: crypto.randomUUID(), patientId: 'P-001', siteId: 'SITE-A' };
    const enrol = (b: unknown) =>
      app.request('/v1/projects/TR-P/patients', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...coordinator },
        body: JSON.stringify(b),
      });
    expect((await enrol(body)).status).toBe(409); // planned: not enrolling yet
    await status('TR-P', { to: 'enrolling', expectedVersion: 1, reason: 'sites ready' });
    const first = await enrol(body);
    expect(first.status).toBe(201);
    expect(await first.json()).toMatchObject({ patientId: 'P-001', siteId: 'SITE-A' });
    expect((await enrol(body)).status).toBe(200);
    expect((await enrol({ ...body, siteId: 'SITE-B' })).status).toBe(409);
    expect((await enrol({ ...body, requestId: crypto.randomUUID() })).status).toBe(409);
    const sponsorEnrols = await app.request('/v1/projects/TR-P/patients', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...body, patientId: 'P-002' }),
    });
    expect(sponsorEnrols.status).toBe(403);
    await expect
      .poll(
        async () =>
          ((await (await app.request('/v1/projects/TR-P/patients')).json()) as { items: unknown[] })
            .items,
      )
      .toEqual([expect.objectContaining({ patientId: 'P-001', siteId: 'SITE-A' })]);
    const history = await events.read('TR-P');
    expect(history.events.map((e) => e.event.type)).toEqual([
      'ProjectCreated',
      'ProjectStatusChanged',
    ]);
  });
});

describe.each(testStores())('portfolio projection on $kind', ({ open, cleanup }) => {
  afterAll(cleanup);

  it('keeps the latest status when a change is applied before its project is created', async () => {
    const store = await open();
    await store.migrate(PORTFOLIO_CONSUMER, portfolio.migrations);
    await store.migrate(REPORT_COUNTS_CONSUMER, reportCounts.migrations);
    const at = new Date().toISOString();
    const [created] = decide(
      {
        type: 'CreateProject',
        projectId: 'TR-9',
        name: 'Trial 9',
        requestId: crypto.randomUUID(),
        actor: sponsor,
        at,
      },
      initial,
    );
    const [changed] = decide(
      {
        type: 'ChangeStatus',
        projectId: 'TR-9',
        to: 'enrolling',
        reason: 'sites ready',
        actor: sponsor,
        at,
      },
      evolve(initial, created!),
    );
    const meta = (seq: number) => ({
      stream: 'PROJECTS',
      seq,
      subject: 'projects.TR-9',
      deliveries: 1,
    });
    await store.transaction((tx) => portfolio.apply(tx, changed!, meta(2)));
    await store.transaction((tx) => portfolio.apply(tx, created!, meta(1)));
    expect(await listPortfolio(store)).toEqual([
      expect.objectContaining({ projectId: 'TR-9', name: 'Trial 9', status: 'enrolling' }),
    ]);
    await store.close();
  });
});

describe('when NATS is down', () => {
  it('503 with Retry-After for reads and commands, and recovery without a restart of the app', async () => {
    expect((await create('TR-5')).status).toBe(201);
    await server.stop();
    await expect.poll(() => conn.isConnected(), { timeout: 5_000 }).toBe(false);
    const read = await app.request('/v1/projects/TR-5');
    expect(read.status).toBe(503);
    expect(read.headers.get('retry-after')).toBe('2');
    const change = { to: 'enrolling', expectedVersion: 1, reason: 'site ready' };
    expect((await status('TR-5', change)).status).toBe(503);

    await server.restart();
    await expect.poll(() => conn.isConnected(), { timeout: 10_000 }).toBe(true);
    await expect
      .poll(async () => (await status('TR-5', change)).status, { timeout: 10_000 })
      .toBe(200);
    const after = (await (await app.request('/v1/projects/TR-5')).json()) as { version: number };
    expect(after.version).toBe(2); // the refused change stored nothing
  });
});
