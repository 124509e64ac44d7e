import {
  newEventId,
  parseEvent,
  PROJECT_LIFECYCLE_FILTER,
  projectSubject,
  ReportSubmitted,
  ReportSubmittedDataV1,
} from '@cohort/contracts';
import {
  IdempotentPublisher,
  JetStreamEventStore,
  LastPerSubjectView,
  Publisher,
  type Connection,
} from '@cohort/infra';
import {
  connect,
  contentHash,
  createLogger,
  provision,
  ServiceMetrics,
  REQUEST_LEDGER_BUCKET,
  topology,
  type TokenKeys,
  apiContractProblems,
  conformingToOpenApi,
  NatsServer,
  testTokens,
  trialsIn,
  type TestTokens,
} from '@cohort/infra/testing';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, DEFAULT_BODY_LIMIT_BYTES as LIMIT } from './app.js';
import { trialStatuses } from './trial-status.js';

let server: NatsServer;
let conn: Connection;
let jsm: JetStreamManager;
let app: ReturnType<typeof createApp>;
let metrics: ServiceMetrics;
let view: LastPerSubjectView<'PROJECTS'>;
let auth: TokenKeys;
let tokens: TestTokens;

const NOW = Date.parse('2026-03-01T12:00:00.000Z');
/** When the test's trials were created: before any report the tests submit. */
const CREATED = '2026-02-01T00:00:00.000Z';

function report(overrides: Record<string, unknown> = {}) {
  return {
    requestId: crypto.randomUUID(),
    trialId: 'TRIAL-A',
    patientId: 'P-001',
    questionnaire: { id: 'PHQ-9', version: '2.1' },
    answers: [
      { itemId: 'q1', value: 2 },
      { itemId: 'q2', value: 'sometimes' },
    ],
    completedAt: '2026-03-01T11:58:00.000Z',
    ...overrides,
  };
}

/** A site's device gateway: may submit for any patient of any trial. */
let gateway: Record<string, string>;

function post(
  body: unknown,
  headers: Record<string, string> = { 'content-type': 'application/json' },
) {
  return app.request('/v1/reports', {
    method: 'POST',
    headers: { ...gateway, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function stored(): Promise<number> {
  return (await jsm.streams.info('REPORTS')).state.messages;
}

beforeAll(async () => {
  server = await NatsServer.start();
  conn = await connect({ servers: server.url, name: 'epro-api-test' });
  jsm = await jetstreamManager(conn.nc);
  await provision(conn, jsm, topology());
  metrics = new ServiceMetrics('epro-api', { defaults: false });
  await trialsIn(conn, ['TRIAL-A', 'LATER'], 'active', CREATED);
  await trialsIn(conn, ['CLOSED-1'], 'closed', CREATED);
  await trialsIn(conn, ['PLANNED-1'], 'planned', CREATED);
  await trialsIn(conn, ['ENROLLING-1'], 'enrolling', CREATED);
  tokens = await testTokens();
  gateway = await tokens.header({ sub: 'gateway-1', role: 'system', trials: ['*'] });
  auth = tokens.keys;
  view = new LastPerSubjectView(conn, 'PROJECTS', PROJECT_LIFECYCLE_FILTER);
  await view.start();
  await view.ready;
  app = conformingToOpenApi(
    createApp({
      auth,
      trials: trialStatuses(view),
      ingest: await IdempotentPublisher.open(conn, new Publisher(conn, { timeoutMs: 1_000 }), {
        stream: 'REPORTS',
      }),
      metrics,
      log: createLogger('epro-api'),
      now: () => NOW,
      ready: { nats: () => Promise.resolve(conn.isConnected() ? null : 'down') },
    }),
  );
});

describe('the API contract', () => {
  it('a valid OpenAPI 3.1 document of every route; bodies JSON-only and bounded', async () => {
    expect(await apiContractProblems(app, { bodyLimitBytes: LIMIT, headers: gateway })).toEqual([]);
  });
});

afterAll(async () => {
  await view?.stop();
  await conn?.drain();
  await server?.dispose();
});

describe('POST /v1/reports', () => {
  it('202 after the PubAck, with the stored event', async () => {
    const body = report();
    const res = await post(body, {
      'content-type': 'application/json; charset=utf-8',
      'x-correlation-id': 'corr-1',
      ...(await tokens.header({ sub: 'P-001', role: 'patient', trials: ['TRIAL-A'] })),
    });
    expect(res.status).toBe(202);
    const json = (await res.json()) as { eventId: string; seq: number };
    expect(json).toMatchObject({ requestId: body.requestId, stream: 'REPORTS', duplicate: false });
    const msg = await jsm.streams.getMessage('REPORTS', { seq: json.seq });
    expect(msg?.subject).toBe('reports.TRIAL-A.P-001');
    expect(msg?.header.get('Cohort-Event-Type')).toBe('ReportSubmitted');
    expect(msg?.header.get('Cohort-Event-Version')).toBe('2');
    const parsed = parseEvent(msg!.data);
    expect(parsed.ok).toBe(true);
    const event = ReportSubmitted.parse(msg!.json());
    expect(event).toMatchObject({
      id: json.eventId,
      occurredAt: body.completedAt,
      source: 'epro-api',
      actor: { id: 'P-001', role: 'patient' },
      correlationId: 'corr-1',
      causationId: body.requestId,
      data: body,
    });
    expect(event.recordedAt).toMatch(/Z$/);
  });

  it('answers the same request again with the same event and seq, storing nothing', async () => {
    const body = report();
    const first = (await (await post(body)).json()) as Record<string, unknown>;
    const before = await stored();
    const res = await post({ ...body, answers: body.answers }); // same content, new object
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ ...first, duplicate: true });
    expect(await stored()).toBe(before);
  });

  it('409 when a requestId is reused for other content, storing nothing', async () => {
    const body = report();
    const first = (await (await post(body)).json()) as { eventId: string };
    const before = await stored();
    const res = await post({ ...body, answers: [{ itemId: 'q1', value: 3 }] });
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({
      error: 'request_id_conflict',
      requestId: body.requestId,
      eventId: first.eventId,
    });
    expect(await stored()).toBe(before);
  });

  it('400 with every failing field, storing nothing', async () => {
    const before = await stored();
    const res = await post(
      report({
        requestId: 'not-a-uuid',
        trialId: 'bad.trial',
        answers: [],
        completedAt: 'yesterday',
        questionnaire: { id: 'PHQ-9' },
      }),
    );
    expect(res.status).toBe(400);
    const json = (await res.json()) as { error: string; issues: { path: string }[] };
    expect(json.error).toBe('validation_failed');
    expect(json.issues.map((i) => i.path).sort()).toEqual(
      ['answers', 'completedAt', 'questionnaire.version', 'requestId', 'trialId'].sort(),
    );
    expect(await stored()).toBe(before);
  });

  it('400 for unknown fields, wrong answer values and non-UTC times', async () => {
    for (const [body, path] of [
      [report({ extra: true }), ''],
      [report({ answers: [{ itemId: 'q1', value: { nested: 1 } }] }), 'answers.0.value'],
      [report({ completedAt: '2026-03-01T11:58:00+01:00' }), 'completedAt'],
    ] as const) {
      const res = await post(body);
      expect(res.status).toBe(400);
      const json = (await res.json()) as { issues: { path: string }[] };
      expect(json.issues.map((i) => i.path)).toContain(path);
    }
  });

  it('400 for a completion time in the future beyond the clock skew', async () => {
    const res = await post(report({ completedAt: '2026-03-01T12:10:00.000Z' }));
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: 'validation_failed',
      message: 'the request has invalid fields',
      issues: [{ path: 'completedAt', message: 'is in the future' }],
    });
    expect((await post(report({ completedAt: '2026-03-01T12:04:00.000Z' }))).status).toBe(202);
  });

  it('400 for a completion before the trial was created, storing nothing', async () => {
    const before = await stored();
    const res = await post(report({ completedAt: '0001-01-01T00:00:00.000Z' }));
    expect(res.status).toBe(400);
    const body = (await res.json()) as { issues: { path: string; message: string }[] };
    expect(body.issues).toEqual([
      { path: 'completedAt', message: `is before the trial was created (${CREATED})` },
    ]);
    expect((await post(report({ completedAt: '2026-01-31T00:00:00.000Z' }))).status).toBe(400);
    expect(await stored()).toBe(before);
  });

  it('400 for malformed JSON', async () => {
    const res = await post('{"requestId": ');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_json' });
  });

  it('413 over the body limit', async () => {
    const answers = Array.from({ length: 100 }, (_, i) => ({
      itemId: `q${i}`,
      value: 'x'.repeat(3000),
    }));
    const res = await post(report({ answers }));
    expect(res.status).toBe(413);
  });

  it('415 for a body that is not JSON', async () => {
    const res = await post('requestId=1', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(res.status).toBe(415);
    expect((await post(JSON.stringify(report()), {})).status).toBe(415);
  });

  it('counts requests by route and status in /metrics', async () => {
    const text = await (await app.request('/metrics')).text();
    expect(text).toMatch(
      /cohort_http_requests_total\{route="\/v1\/reports",method="POST",status="202",service="epro-api"\} \d+/,
    );
    expect(text).toMatch(/cohort_publish_duration_seconds_bucket\{.*outcome="stored"/);
  });
});

describe('ReportSubmitted v2, from a v1 or a v2 body', () => {
  /** The event a 202 answer names, as stored (raw JSON, not upcast by any reader). */
  async function storedEvent(res: Response) {
    expect(res.status).toBe(202);
    const { seq } = (await res.json()) as { seq: number };
    const msg = await jsm.streams.getMessage('REPORTS', { seq });
    expect(msg?.header.get('Cohort-Event-Version')).toBe('2');
    return msg!.json<Record<string, unknown>>();
  }

  it('stores a v1 body as a v2 event: siteId and device null, answers as sent', async () => {
    const body = report();
    const event = await storedEvent(await post(body));
    expect(event).toMatchObject({ type: 'ReportSubmitted', version: 2 });
    expect(event.data).toEqual({ ...body, siteId: null, device: null });
    expect(ReportSubmitted.parse(event).data).toEqual(event.data);
  });

  it('stores a v2 body with its site, device and units', async () => {
    const body = report({
      answers: [
        { itemId: 'weight', value: 71.5, unit: 'kg' },
        { itemId: 'q2', value: 'sometimes' },
      ],
      siteId: 'SITE-LYON',
      device: { platform: 'ios', appVersion: '3.2.0' },
    });
    const event = await storedEvent(await post(body));
    expect(event).toMatchObject({ type: 'ReportSubmitted', version: 2 });
    expect(event.data).toEqual(body);
    expect(ReportSubmitted.parse(event).data).toEqual(body);
    const explicit = report({ siteId: null, device: null });
    expect((await storedEvent(await post(explicit))).data).toEqual(explicit);
  });

  it('400 for a bad site, device or unit, storing nothing', async () => {
    const before = await stored();
    const res = await post(
      report({
        answers: [{ itemId: 'q1', value: 1, unit: '' }],
        siteId: 'site 1',
        device: { platform: 'palm', appVersion: '1' },
      }),
    );
    expect(res.status).toBe(400);
    const json = (await res.json()) as { issues: { path: string }[] };
    expect(json.issues.map((i) => i.path).sort()).toEqual(
      ['answers.0.unit', 'device.platform', 'siteId'].sort(),
    );
    expect(await stored()).toBe(before);
  });

  it('keeps the content hash of a v1 body: a retry made across the upgrade is the same request', async () => {
    const body = report();
    const first = (await (await post(body)).json()) as { eventId: string };
    // The ledger holds the hash of the body as parsed; v1 parsed it with the v1 schema.
    const entry = await jsm.streams.getMessage(`KV_${REQUEST_LEDGER_BUCKET}`, {
      last_by_subj: `$KV.${REQUEST_LEDGER_BUCKET}.${body.requestId}`,
    });
    expect(entry!.json<{ hash: string }>().hash).toBe(
      contentHash(ReportSubmittedDataV1.strict().parse(body)),
    );
    const before = await stored();
    const retry = await post(body);
    expect(await retry.json()).toMatchObject({ eventId: first.eventId, duplicate: true });
    expect(await stored()).toBe(before);
    // The same request with a site is other content.
    expect((await post({ ...body, siteId: 'SITE-LYON' })).status).toBe(409);
  });
});

describe('trial status, from the project events', () => {
  it('404 for a trial no project exists for', async () => {
    const res = await post(report({ trialId: 'NO-SUCH-TRIAL' }));
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: 'unknown_trial', trialId: 'NO-SUCH-TRIAL' });
  });

  it('accepts reports for an enrolling trial as for an active one', async () => {
    const res = await post(report({ trialId: 'ENROLLING-1' }));
    expect(res.status).toBe(202);
  });

  it('409 naming the status for a trial that is not accepting data', async () => {
    const before = await stored();
    for (const [trialId, status] of [
      ['CLOSED-1', 'closed'],
      ['PLANNED-1', 'planned'],
    ]) {
      const res = await post(report({ trialId }));
      expect(res.status).toBe(409);
      expect(await res.json()).toMatchObject({ error: 'trial_not_accepting', status });
    }
    expect(await stored()).toBe(before);
  });

  it('follows status changes live, and still answers a retry of a report stored before the close', async () => {
    const body = report({ trialId: 'LATER' });
    const first = (await (await post(body)).json()) as { seq: number };
    // LATER is closed now.
    const store = await JetStreamEventStore.open(conn, 'PROJECTS', projectSubject);
    const { version } = await store.read('LATER');
    const now = new Date().toISOString();
    await store.append(
      'LATER',
      [
        {
          id: newEventId(),
          type: 'ProjectStatusChanged',
          version: 1,
          occurredAt: now,
          recordedAt: now,
          source: 'test',
          actor: { id: 'dr.lee', role: 'sponsor' },
          reason: 'enrolment complete',
          correlationId: 'c',
          causationId: 'c',
          data: { projectId: 'LATER', from: 'active', to: 'closed', effectiveAt: now },
        },
      ],
      version,
    );
    await expect.poll(async () => (await post(report({ trialId: 'LATER' }))).status).toBe(409);
    const retry = await post(body);
    expect(retry.status).toBe(202);
    expect(await retry.json()).toMatchObject({ seq: first.seq, duplicate: true });
  });
});

describe('when the REPORTS stream is full', () => {
  it('503 with Retry-After; nothing stored but what was answered 202', async () => {
    const { config, state } = await jsm.streams.info('REPORTS');
    // Room for a few more reports: the stream refuses new ones at its limit (discard new).
    await jsm.streams.update('REPORTS', { ...config, max_bytes: state.bytes + 3_000 });
    try {
      const answers: Response[] = [];
      for (let i = 0; i < 20; i++) answers.push(await post(report()));
      const accepted = answers.filter((r) => r.status === 202).length;
      const refused = answers.filter((r) => r.status === 503);
      expect(accepted).toBeGreaterThan(0);
      expect(refused.length).toBe(answers.length - accepted);
      expect(refused[0]!.headers.get('retry-after')).toBe('2');
      expect(await refused[0]!.json()).toMatchObject({ error: 'unavailable' });
      expect(await stored()).toBe(state.messages + accepted);
    } finally {
      await jsm.streams.update('REPORTS', config);
    }
  });
});

describe('when NATS is down', () => {
  it('503 with Retry-After, not ready, and recovery without a restart of the app', async () => {
    expect((await app.request('/readyz')).status).toBe(200);
    await server.stop();
    await expect.poll(() => conn.isConnected(), { timeout: 5_000 }).toBe(false);
    const body = report();
    const res = await post(body);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('2');
    expect((await app.request('/readyz')).status).toBe(503);
    expect((await app.request('/healthz')).status).toBe(200);

    await server.restart();
    await expect.poll(() => conn.isConnected(), { timeout: 10_000 }).toBe(true);
    const retry = await post(body);
    expect(retry.status).toBe(202);
    const json = (await retry.json()) as { seq: number };
    expect((await post(body)).status).toBe(202);
    const msg = await jsm.streams.getMessage('REPORTS', { seq: json.seq });
    expect(msg?.json<{ data: { requestId: string } }>().data.requestId).toBe(body.requestId);
    expect((await app.request('/readyz')).status).toBe(200);
  });
});

describe('what no reader could store exactly', () => {
  it.each([
    ['a NUL in an answer', { answers: [{ itemId: 'q1', value: 'a\u0000b' }] }, 'answers.0.value'],
    [
      'a NUL in the questionnaire version',
      { questionnaire: { id: 'PHQ-9', version: '1\u0000' } },
      'questionnaire.version',
    ],
    ['a lone surrogate', { answers: [{ itemId: 'q1', value: '\ud800' }] }, 'answers.0.value'],
    ['a completion in year 0000', { completedAt: '0000-01-01T00:00:00Z' }, 'completedAt'],
    ['an impossible date', { completedAt: '2021-02-30T00:00:00Z' }, 'completedAt'],
  ])('400 for %s, naming the field, storing nothing', async (_what, over, path) => {
    const before = await stored();
    const res = await post(report(over));
    expect(res.status).toBe(400);
    const body = (await res.json()) as { issues: { path: string }[] };
    expect(body.issues.map((i) => i.path)).toContain(path);
    expect(await stored()).toBe(before);
  });

  it.each(['123456789012345678901234567890', '9007199254740993', '1e-400', '1e400'])(
    '400 for the number %s, which a double would change',
    async (n) => {
      const before = await stored();
      const text = JSON.stringify(report()).replace('"value":2', `"value":${n}`);
      const res = await post(text);
      expect(res.status).toBe(400);
      const body = (await res.json()) as { issues: { path: string }[] };
      expect(body.issues.map((i) => i.path)).toEqual(['answers.0.value']);
      expect(await stored()).toBe(before);
    },
  );
});
