import { deadLetterSubject, newEventId, reportSubject } from '@cohort/contracts';
import type { CohortEvent, DeadLetterEvent } from '@cohort/contracts';
import { jetstreamManager } from '@nats-io/jetstream';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Connection } from '../connection.js';
import { createApi } from '../http/api.js';
import { createLogger } from '../logger.js';
import { ServiceMetrics } from '../metrics.js';
import { Publisher } from '../publisher.js';
import { openStore, type SqlStore } from '../store/sql-store.js';
import { SubscriberMetrics } from '../subscriber/metrics.js';
import type { Projection } from '../subscriber/projection.js';
import { Subscriber } from '../subscriber/pull-loop.js';
import { reportSubmitted } from '../testing/events.js';
import { NatsServer } from '../testing/nats-server.js';
import { conformingToOpenApi } from '../testing/openapi.js';
import { authenticatedAs, testTokens } from '../testing/tokens.js';
import { provision, topology } from '../topology.js';
import { DeadLetterConflictError, DeadLetterDesk, DeadLetterNotFoundError } from './desk.js';
import { deadLetterRoutes } from './routes.js';

const enc = new TextEncoder();
const operator = { id: 'nurse.jones', role: 'monitor' as const };
const MAX_DELIVER = 3;

const tokens = await testTokens();

/** The desk's routes as a service mounts them, at the root so paths read short. */
function mounted(desk: DeadLetterDesk) {
  const app = createApi({
    service: 'dead-letter-test',
    description: 'the dead-letter routes',
    auth: tokens.keys,
    metrics: new ServiceMetrics('dead-letter-test', { defaults: false }),
    log: createLogger('test'),
    ready: {},
  });
  app.route('/', deadLetterRoutes(desk));
  return conformingToOpenApi(app);
}

let server: NatsServer;
let conn: Connection;
let publisher: Publisher;
let store: SqlStore;
const running: Subscriber[] = [];

beforeAll(async () => {
  server = await NatsServer.start();
  conn = await connect({ servers: server.url, name: 'dlq-test' });
  await provision(conn, await jetstreamManager(conn.nc), topology());
  publisher = new Publisher(conn);
  store = await openStore({ service: 'dlq' });
});

afterEach(async () => {
  for (const s of running.splice(0)) await s.stop();
});

afterAll(async () => {
  await store?.close();
  await conn?.drain();
  await server?.dispose();
});

const counter = async (m: SubscriberMetrics['applied']) => (await m.get()).values[0]?.value ?? 0;

/**
 * A trial of the test's own with two durables on it: `failing`, whose handler cannot apply the
 * reports of the patients in `broken`, and `other`, which applies everything.
 */
async function trial() {
  const tag = crypto.randomUUID().slice(0, 8);
  const trialId = `DLQ-${tag}`;
  const broken = new Set<string>();
  const failing = `edc-${tag}`;
  const other = `other-${tag}`;
  const metrics = {
    failing: new SubscriberMetrics(new Registry()),
    other: new SubscriberMetrics(new Registry()),
  };
  const projection = (name: string, fails: boolean): Projection => ({
    consumer: {
      stream: 'REPORTS',
      name,
      filterSubject: `reports.${trialId}.*`,
      maxDeliver: MAX_DELIVER,
      ackWaitMs: 5_000,
    },
    migrations: [
      {
        version: 1,
        name: 'applied',
        sql: 'CREATE TABLE IF NOT EXISTS applied (consumer text, patient_id text, at timestamptz DEFAULT clock_timestamp())',
      },
    ],
    key: (e: CohortEvent) => (e.type === 'ReportSubmitted' ? e.data.requestId : e.id),
    async apply(tx, event) {
      if (event.type !== 'ReportSubmitted') return;
      if (fails && broken.has(event.data.patientId)) {
        throw new Error(`cannot apply ${event.data.patientId}: questionnaire version unknown`);
      }
      await tx.query('INSERT INTO applied (consumer, patient_id) VALUES ($1, $2)', [
        name,
        event.data.patientId,
      ]);
    },
  });
  for (const [name, fails, m] of [
    [failing, true, metrics.failing],
    [other, false, metrics.other],
  ] as const) {
    const s = new Subscriber(conn, store, projection(name, fails), m, createLogger('test'), {
      backoffMs: [100],
      lingerMs: 5,
    });
    await s.start();
    running.push(s);
  }
  const desk = await DeadLetterDesk.open(conn);
  return {
    trialId,
    broken,
    failing,
    other,
    metrics,
    desk,
    publish(patientId: string) {
      const e = reportSubmitted({ trialId, patientId });
      return publisher.publish(reportSubject(trialId, patientId), enc.encode(JSON.stringify(e)), {
        msgId: e.id,
      });
    },
    /** A report that no consumer can ever apply: it fails validation. */
    publishInvalid(patientId: string) {
      const e = { ...reportSubmitted({ trialId, patientId }), data: { patientId } };
      return publisher.publish(reportSubject(trialId, patientId), enc.encode(JSON.stringify(e)));
    },
    async applied(consumer: string, patientId?: string) {
      const { rows } = await store.query<{ patient_id: string; at: Date }>(
        `SELECT patient_id, at FROM applied WHERE consumer = $1 ${patientId ? 'AND patient_id = $2' : ''}`,
        patientId ? [consumer, patientId] : [consumer],
      );
      return rows;
    },
    /** Captures what is waiting, then lists the dead letters of `consumer`. */
    async deadLetters(consumer: string, status?: 'open' | 'redriven' | 'discarded') {
      await desk.captureAll();
      return desk.list({ consumer, status });
    },
  };
}

describe('dead letters', () => {
  it('a message that always fails becomes one open dead letter; the messages behind it flow', async () => {
    const t = await trial();
    t.broken.add('POISON');
    // Whatever other tests left to capture is captured now, so the counts below are this test's.
    await t.desk.captureAll();
    const advisoryAt: number[] = [];
    const sub = conn.nc.subscribe(
      `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.REPORTS.${t.failing}`,
      { callback: () => void advisoryAt.push(Date.now()) },
    );
    const poison = await t.publish('POISON');
    for (let i = 1; i <= 5; i++) await t.publish(`P${i}`);
    await expect.poll(() => advisoryAt.length, { timeout: 15_000 }).toBe(1);
    sub.unsubscribe();
    const healthy = await t.applied(t.failing);
    expect(healthy.map((r) => r.patient_id).sort()).toEqual(['P1', 'P2', 'P3', 'P4', 'P5']);
    for (const r of healthy) expect(r.at.getTime()).toBeLessThan(advisoryAt[0]!);

    // No capture ran while it failed: the advisory waited in the ADVISORIES stream.
    expect(await t.desk.captureAll()).toBe(1);
    expect(await t.desk.captureAll()).toBe(0);
    const open = await t.desk.list({ consumer: t.failing, status: 'open' });
    expect(open).toHaveLength(1);
    const dl = open[0]!;
    expect(dl).toMatchObject({
      consumer: t.failing,
      cause: 'max_deliveries',
      stream: 'REPORTS',
      seq: poison.seq,
      subject: reportSubject(t.trialId, 'POISON'),
      deliveries: MAX_DELIVER,
      lastError: 'Error: cannot apply POISON: questionnaire version unknown',
      status: 'open',
    });
    expect(dl.envelope).toMatchObject({ type: 'ReportSubmitted', data: { patientId: 'POISON' } });
    expect(Buffer.from(dl.payload, 'base64').toString()).toContain('POISON');
    expect(Date.parse(dl.firstFailedAt)).toBeLessThanOrEqual(Date.parse(dl.lastFailedAt));
    expect(dl.history).toMatchObject([{ action: 'captured', actor: { role: 'system' } }]);
    expect(await t.desk.list({ consumer: t.other })).toHaveLength(0);
  });

  it('a schema-invalid message is dead after one delivery, with the reason', async () => {
    const t = await trial();
    const bad = await t.publishInvalid('BROKEN');
    await expect.poll(async () => (await t.deadLetters(t.failing)).length).toBe(1);
    const [dl] = await t.desk.list({ consumer: t.failing });
    expect(dl).toMatchObject({ cause: 'terminated', deliveries: 1, status: 'open', seq: bad.seq });
    expect(dl!.lastError).toMatch(/invalid ReportSubmitted v2: data\.requestId/);
    // Both consumers terminate it: one dead letter each.
    await expect.poll(async () => (await t.deadLetters(t.other)).length).toBe(1);
  });

  it('redrive applies the fixed message once, only on the consumer that failed it, after the redrive is recorded', async () => {
    const t = await trial();
    t.broken.add('POISON');
    await t.publish('POISON');
    await expect.poll(() => t.deadLetters(t.failing, 'open'), { timeout: 15_000 }).toHaveLength(1);
    const [dead] = await t.desk.list({ consumer: t.failing });
    expect(await t.applied(t.other, 'POISON')).toHaveLength(1); // from the original delivery
    const otherApplied = await counter(t.metrics.other.applied);

    t.broken.delete('POISON'); // the handler is fixed
    const dl = await t.desk.redrive(dead!.id, {
      actor: operator,
      reason: 'questionnaire v2.1 added to EDC',
    });
    expect(dl.status).toBe('redriven');
    await expect.poll(async () => (await t.applied(t.failing, 'POISON')).length).toBe(1);
    const [row] = await t.applied(t.failing, 'POISON');
    const redrivenAt = Date.parse(dl.history[1]!.at);
    expect(redrivenAt).toBeGreaterThanOrEqual(Date.parse(dl.capturedAt));
    expect(row!.at.getTime()).toBeGreaterThanOrEqual(redrivenAt);

    const skippedBefore = await counter(t.metrics.failing.skipped);
    const again = await t.desk.redrive(dead!.id, { actor: operator, reason: 'making sure' });
    await expect.poll(() => counter(t.metrics.failing.skipped)).toBe(skippedBefore + 1);
    expect(await t.applied(t.failing, 'POISON')).toHaveLength(1);
    expect(await t.applied(t.other, 'POISON')).toHaveLength(1);
    expect(await counter(t.metrics.other.applied)).toBe(otherApplied);
    expect(again.history).toMatchObject([
      { action: 'captured' },
      { action: 'redriven', actor: operator, reason: 'questionnaire v2.1 added to EDC' },
      { action: 'redriven', actor: operator, reason: 'making sure' },
    ]);
    expect(again.history.map((h) => h.redriveMsgId)).toEqual([
      undefined,
      `${dead!.id}-redrive-1`,
      `${dead!.id}-redrive-2`,
    ]);
  });

  it('discard records who, when and why and keeps the record; a discarded one cannot be redriven', async () => {
    const t = await trial();
    await t.publishInvalid('BROKEN');
    await expect.poll(() => t.deadLetters(t.failing, 'open')).toHaveLength(1);
    const [open] = await t.desk.list({ consumer: t.failing, status: 'open' });
    const before = Date.now();
    const dl = await t.desk.discard(open!.id, {
      actor: operator,
      reason: 'test submission from the site',
    });
    expect(dl.status).toBe('discarded');
    expect(dl.history).toHaveLength(2);
    expect(dl.history[1]).toMatchObject({
      action: 'discarded',
      actor: operator,
      reason: 'test submission from the site',
    });
    expect(Date.parse(dl.history[1]!.at)).toBeGreaterThanOrEqual(before);
    expect(await t.desk.get(open!.id)).toEqual(dl);
    expect(
      (await t.desk.list({ consumer: t.failing, status: 'discarded' })).map((d) => d.id),
    ).toEqual([open!.id]);
    await expect(t.desk.redrive(dl.id, { actor: operator, reason: 'oops' })).rejects.toBeInstanceOf(
      DeadLetterConflictError,
    );
    await expect(
      t.desk.discard(dl.id, { actor: operator, reason: 'twice' }),
    ).rejects.toBeInstanceOf(DeadLetterConflictError);
    expect((await t.desk.get(open!.id)).history).toHaveLength(2);
    await expect(t.desk.get('dl-99999999')).rejects.toBeInstanceOf(DeadLetterNotFoundError);
  });

  it('redrives all open dead letters of a consumer, and a redriven copy that fails again is a new dead letter', async () => {
    const t = await trial();
    t.broken.add('POISON-2');
    t.broken.add('POISON-3');
    await t.publish('POISON-2');
    await t.publish('POISON-3');
    await expect.poll(() => t.deadLetters(t.failing, 'open'), { timeout: 15_000 }).toHaveLength(2);
    t.broken.delete('POISON-2'); // POISON-3 is still broken
    const done = await t.desk.redriveAll(t.failing, {
      actor: operator,
      reason: 'fix deployed',
      ratePerSecond: 10,
    });
    expect(done.map((d) => d.status)).toEqual(['redriven', 'redriven']);
    await expect.poll(async () => (await t.applied(t.failing, 'POISON-2')).length).toBe(1);
    await expect.poll(() => t.deadLetters(t.failing, 'open'), { timeout: 15_000 }).toHaveLength(1);
    const [again] = await t.desk.list({ consumer: t.failing, status: 'open' });
    expect(again).toMatchObject({
      stream: 'REPORTS',
      subject: reportSubject(t.trialId, 'POISON-3'),
      deliveries: MAX_DELIVER,
    });
    expect(again!.lastError).toMatch(/cannot apply POISON-3/);
    expect(done.map((d) => d.id)).not.toContain(again!.id);
  });

  it('serves the desk over HTTP', async () => {
    const t = await trial();
    await t.publishInvalid('BROKEN-1');
    await t.publishInvalid('BROKEN-2');
    await expect.poll(() => t.deadLetters(t.failing)).toHaveLength(2);
    const ops = { sub: 'ops.kim', role: 'ops' as const, trials: [] };
    const app = authenticatedAs(mounted(t.desk), await tokens.header(ops));
    const list = (await (await app.request(`/?consumer=${t.failing}`)).json()) as {
      items: { id: string; status: string }[];
    };
    expect(list.items.map((i) => i.status)).toEqual(['open', 'open']);
    const open = list.items[0]!;
    expect((await app.request(`/${open.id}`)).status).toBe(200);
    expect((await app.request('/dl-424242424')).status).toBe(404);
    expect((await app.request('/?status=lost')).status).toBe(400);
    const post = (path: string, body: unknown) =>
      app.request(path, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const noReason = await post(`/${open.id}/discard`, {});
    expect(noReason.status).toBe(400);
    expect(((await noReason.json()) as { issues: { path: string }[] }).issues[0]!.path).toBe(
      'reason',
    );
    // Who acts is the token's caller: a body that names an actor is refused.
    const named = await post(`/${open.id}/discard`, { actor: operator, reason: 'x' });
    expect(named.status).toBe(400);
    const monitor = await tokens.header({ sub: 'nurse.jones', role: 'monitor', trials: ['*'] });
    const refused = await app.request(`/${open.id}/discard`, {
      method: 'POST',
      headers: { ...monitor, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'x' }),
    });
    expect(refused.status).toBe(403);
    expect((await app.request('/', { headers: monitor })).status).toBe(403);
    const discarded = await post(`/${open.id}/discard`, { reason: 'duplicate device' });
    expect(discarded.status).toBe(200);
    const dl = (await discarded.json()) as {
      status: string;
      history: { action: string; actor: unknown }[];
    };
    expect(dl.status).toBe('discarded');
    expect(dl.history.at(-1)).toMatchObject({
      action: 'discarded',
      actor: { id: 'ops.kim', role: 'ops' },
    });
    expect((await post(`/${open.id}/redrive`, { reason: 'x' })).status).toBe(409);
    const after = (await (await app.request(`/?consumer=${t.failing}&status=open`)).json()) as {
      items: { id: string }[];
    };
    expect(after.items.map((i) => i.id)).toEqual([list.items[1]!.id]);
  });

  it('two changes at once: one wins, the other is a conflict, and the history has one', async () => {
    const t = await trial();
    await t.publishInvalid('BROKEN');
    await expect.poll(() => t.deadLetters(t.other, 'open')).toHaveLength(1);
    const [open] = await t.desk.list({ consumer: t.other, status: 'open' });
    const results = await Promise.allSettled([
      t.desk.discard(open!.id, { actor: operator, reason: 'first' }),
      t.desk.redrive(open!.id, { actor: { id: 'ops.kim', role: 'monitor' }, reason: 'second' }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const lost = results.find((r) => r.status === 'rejected');
    expect(lost?.reason).toBeInstanceOf(DeadLetterConflictError);
    const history = (await t.desk.get(open!.id)).history;
    expect(history).toHaveLength(2);
    // The loser sent nothing: copies on redrive.<consumer> match the recorded redrives.
    const jsm = await jetstreamManager(conn.nc);
    const subject = `redrive.${t.other}`;
    const sent =
      (await jsm.streams.info('REDRIVE', { subjects_filter: subject })).state.subjects ?? {};
    expect(sent[subject] ?? 0).toBe(history.filter((h) => h.action === 'redriven').length);
  });

  it('a dead letter written by an earlier build, without version headers, is read and changed', async () => {
    const id = `dl-${Date.now()}`;
    const consumer = `legacy-${crypto.randomUUID().slice(0, 8)}`;
    const at = new Date().toISOString();
    const base = {
      version: 1 as const,
      occurredAt: at,
      recordedAt: at,
      source: 'cohort-deadletters',
    };
    const history: DeadLetterEvent[] = [
      {
        ...base,
        id: newEventId(),
        type: 'DeadLetterCaptured',
        actor: { id: 'jetstream', role: 'system' },
        reason: 'not applied after 3 deliveries',
        correlationId: 'REPORTS:1',
        causationId: 'REPORTS:1',
        data: {
          deadLetterId: id,
          consumer,
          cause: 'max_deliveries',
          stream: 'REPORTS',
          seq: 1,
          subject: 'reports.OLD.P1',
          headers: {},
          payload: Buffer.from('{}').toString('base64'),
          envelope: {},
          deliveries: 3,
          firstFailedAt: at,
          lastFailedAt: at,
          lastError: 'Error: boom',
        },
      },
      {
        ...base,
        id: newEventId(),
        type: 'DeadLetterRedriven',
        actor: operator,
        reason: 'first try',
        correlationId: id,
        causationId: id,
        data: { deadLetterId: id, consumer, redriveMsgId: `${id}-redrive-1` },
      },
    ];
    // As earlier builds wrote them: the event type header only.
    let seq = 0;
    for (const e of history) {
      const ack = await publisher.publish(deadLetterSubject(id), enc.encode(JSON.stringify(e)), {
        expectedLastSubjectSequence: seq,
        headers: { 'Cohort-Event-Type': e.type },
      });
      seq = ack.seq;
    }
    const desk = await DeadLetterDesk.open(conn);
    expect(await desk.get(id)).toMatchObject({
      status: 'redriven',
      history: [{ action: 'captured' }, { action: 'redriven', redriveMsgId: `${id}-redrive-1` }],
    });
    expect((await desk.list({ consumer })).map((d) => d.id)).toEqual([id]);
    const discarded = await desk.discard(id, { actor: operator, reason: 'no longer needed' });
    expect(discarded.history.map((h) => h.action)).toEqual(['captured', 'redriven', 'discarded']);
    const jsm = await jetstreamManager(conn.nc);
    const last = await jsm.streams.getMessage('DEADLETTERS', {
      last_by_subj: deadLetterSubject(id),
    });
    expect(last?.header.get('Cohort-Aggregate-Version')).toBe('3');
    expect((await desk.get(id)).status).toBe('discarded');
  });
});
