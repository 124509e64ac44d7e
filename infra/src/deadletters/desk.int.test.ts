import { reportSubject } from '@cohort/contracts';
import type { CohortEvent } from '@cohort/contracts';
import { jetstreamManager } from '@nats-io/jetstream';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Connection } from '../connection.js';
import { createLogger } from '../logger.js';
import { Publisher } from '../publisher.js';
import { openStore, type SqlStore } from '../store/sql-store.js';
import { SubscriberMetrics } from '../subscriber/metrics.js';
import type { Projection } from '../subscriber/projection.js';
import { Subscriber } from '../subscriber/pull-loop.js';
import { reportSubmitted } from '../testing/events.js';
import { NatsServer } from '../testing/nats-server.js';
import { provision, topology } from '../topology.js';
import { DeadLetterConflictError, DeadLetterDesk, DeadLetterNotFoundError } from './desk.js';
import { deadLetterRoutes } from './routes.js';

const enc = new TextEncoder();
const TRIAL = 'DLQ';
const operator = { id: 'nurse.jones', role: 'monitor' as const };

let server: NatsServer;
let conn: Connection;
let publisher: Publisher;
let store: SqlStore;
const broken = new Set<string>(); // patients whose reports the "edc" handler cannot apply yet
const subscribers: Subscriber[] = [];
const metrics = {
  failing: new SubscriberMetrics(new Registry()),
  other: new SubscriberMetrics(new Registry()),
};

function projection(name: string, failing: boolean): Projection {
  return {
    consumer: {
      stream: 'REPORTS',
      name,
      filterSubject: `reports.${TRIAL}.*`,
      maxDeliver: 3,
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
      if (failing && broken.has(event.data.patientId)) {
        throw new Error(`cannot apply ${event.data.patientId}: questionnaire version unknown`);
      }
      await tx.query('INSERT INTO applied (consumer, patient_id) VALUES ($1, $2)', [
        name,
        event.data.patientId,
      ]);
    },
  };
}

async function applied(consumer: string, patientId?: string) {
  const { rows } = await store.query<{ patient_id: string; at: Date }>(
    `SELECT patient_id, at FROM applied WHERE consumer = $1 ${patientId ? 'AND patient_id = $2' : ''}`,
    patientId ? [consumer, patientId] : [consumer],
  );
  return rows;
}

async function publish(patientId: string) {
  const e = reportSubmitted({ trialId: TRIAL, patientId });
  return publisher.publish(reportSubject(TRIAL, patientId), enc.encode(JSON.stringify(e)), {
    msgId: e.id,
  });
}

const counter = async (m: SubscriberMetrics['applied']) => (await m.get()).values[0]?.value ?? 0;

beforeAll(async () => {
  server = await NatsServer.start();
  conn = await connect({ servers: server.url, name: 'dlq-test' });
  await provision(conn, await jetstreamManager(conn.nc), topology());
  publisher = new Publisher(conn);
  store = await openStore({ service: 'dlq' });
  for (const [name, failing, m] of [
    ['edc-test', true, metrics.failing],
    ['other-test', false, metrics.other],
  ] as const) {
    const s = new Subscriber(conn, store, projection(name, failing), m, createLogger('test'), {
      backoffMs: [100],
      lingerMs: 5,
    });
    await s.start();
    subscribers.push(s);
  }
});

afterAll(async () => {
  for (const s of subscribers) await s.stop();
  await store?.close();
  await conn?.drain();
  await server?.dispose();
});

describe('dead letters', () => {
  let poisonId = '';

  it('a message that always fails becomes one open dead letter; the messages behind it flow', async () => {
    broken.add('POISON-1');
    const advisoryAt: number[] = [];
    const sub = conn.nc.subscribe('$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.REPORTS.edc-test', {
      callback: () => {
        advisoryAt.push(Date.now());
      },
    });
    const poison = await publish('POISON-1');
    for (let i = 1; i <= 5; i++) await publish(`P${i}`);
    await expect.poll(() => advisoryAt.length, { timeout: 15_000 }).toBe(1);
    sub.unsubscribe();
    const healthy = await applied('edc-test');
    expect(healthy.map((r) => r.patient_id).sort()).toEqual(['P1', 'P2', 'P3', 'P4', 'P5']);
    for (const r of healthy) expect(r.at.getTime()).toBeLessThan(advisoryAt[0]!);

    // No capture ran while it failed: the advisory waited in the ADVISORIES stream.
    const desk = await DeadLetterDesk.open(conn);
    expect(await desk.captureAll()).toBe(1);
    expect(await desk.captureAll()).toBe(0);
    const open = await desk.list({ consumer: 'edc-test', status: 'open' });
    expect(open).toHaveLength(1);
    const dl = open[0]!;
    poisonId = dl.id;
    expect(dl).toMatchObject({
      consumer: 'edc-test',
      cause: 'max_deliveries',
      stream: 'REPORTS',
      seq: poison.seq,
      subject: `reports.${TRIAL}.POISON-1`,
      deliveries: 3,
      lastError: 'Error: cannot apply POISON-1: questionnaire version unknown',
      status: 'open',
    });
    expect(dl.envelope).toMatchObject({ type: 'ReportSubmitted', data: { patientId: 'POISON-1' } });
    expect(Buffer.from(dl.payload, 'base64').toString()).toContain('POISON-1');
    expect(Date.parse(dl.firstFailedAt)).toBeLessThanOrEqual(Date.parse(dl.lastFailedAt));
    expect(dl.history).toMatchObject([{ action: 'captured', actor: { role: 'system' } }]);
    expect(await desk.list({ consumer: 'other-test' })).toHaveLength(0);
  });

  it('a schema-invalid message is dead after one delivery, with the reason', async () => {
    const bad = await publisher.publish(
      `reports.${TRIAL}.BROKEN`,
      enc.encode(JSON.stringify({ ...reportSubmitted(), data: { patientId: 'BROKEN' } })),
    );
    const desk = await DeadLetterDesk.open(conn);
    await expect
      .poll(
        async () => (await desk.captureAll(), (await desk.list({ consumer: 'edc-test' })).length),
        { timeout: 10_000 },
      )
      .toBe(2);
    const dl = (await desk.list({ consumer: 'edc-test' })).find((d) => d.seq === bad.seq)!;
    expect(dl).toMatchObject({ cause: 'terminated', deliveries: 1, status: 'open' });
    expect(dl.lastError).toMatch(/invalid ReportSubmitted v1: data\.requestId/);
    // Both consumers terminate it: one dead letter each.
    await expect
      .poll(
        async () => (await desk.captureAll(), (await desk.list({ consumer: 'other-test' })).length),
      )
      .toBe(1);
  });

  it('redrive applies the fixed message once, only on the consumer that failed it', async () => {
    const desk = await DeadLetterDesk.open(conn);
    broken.delete('POISON-1'); // the handler is fixed
    const otherApplied = await counter(metrics.other.applied);
    const dl = await desk.redrive(poisonId, {
      actor: operator,
      reason: 'questionnaire v2.1 added to EDC',
    });
    expect(dl.status).toBe('redriven');
    await expect.poll(async () => (await applied('edc-test', 'POISON-1')).length).toBe(1);

    const skippedBefore = await counter(metrics.failing.skipped);
    const again = await desk.redrive(poisonId, { actor: operator, reason: 'making sure' });
    await expect
      .poll(() => counter(metrics.failing.skipped), { timeout: 5_000 })
      .toBe(skippedBefore + 1);
    expect(await applied('edc-test', 'POISON-1')).toHaveLength(1);
    expect(await applied('other-test', 'POISON-1')).toHaveLength(1); // from the original delivery
    expect(await counter(metrics.other.applied)).toBe(otherApplied);
    expect(again.history).toMatchObject([
      { action: 'captured' },
      { action: 'redriven', actor: operator, reason: 'questionnaire v2.1 added to EDC' },
      { action: 'redriven', actor: operator, reason: 'making sure' },
    ]);
    expect(Date.parse(again.history[1]!.at)).toBeGreaterThan(Date.parse(again.capturedAt) - 1);
  });

  it('discard records who, when and why and keeps the record; a discarded one cannot be redriven', async () => {
    const desk = await DeadLetterDesk.open(conn);
    const [broken1] = (await desk.list({ consumer: 'edc-test', status: 'open' })).filter(
      (d) => d.cause === 'terminated',
    );
    const dl = await desk.discard(broken1!.id, {
      actor: operator,
      reason: 'test submission from the site',
    });
    expect(dl.status).toBe('discarded');
    expect(dl.history.at(-1)).toMatchObject({
      action: 'discarded',
      actor: operator,
      reason: 'test submission from the site',
    });
    expect((await desk.list({ status: 'discarded' })).map((d) => d.id)).toEqual([broken1!.id]);
    await expect(desk.redrive(dl.id, { actor: operator, reason: 'oops' })).rejects.toBeInstanceOf(
      DeadLetterConflictError,
    );
    await expect(desk.discard(dl.id, { actor: operator, reason: 'twice' })).rejects.toBeInstanceOf(
      DeadLetterConflictError,
    );
    await expect(desk.get('dl-99999')).rejects.toBeInstanceOf(DeadLetterNotFoundError);
  });

  it('redrives all open dead letters of a consumer, and a redriven copy that fails again is a new dead letter', async () => {
    const desk = await DeadLetterDesk.open(conn);
    const openDeadLetters = async () => {
      await desk.captureAll();
      return (await desk.list({ consumer: 'edc-test', status: 'open' })).length;
    };
    broken.add('POISON-2');
    broken.add('POISON-3');
    await publish('POISON-2');
    await publish('POISON-3');
    await expect.poll(openDeadLetters, { timeout: 15_000 }).toBe(2);
    broken.delete('POISON-2'); // POISON-3 is still broken
    const done = await desk.redriveAll('edc-test', {
      actor: operator,
      reason: 'fix deployed',
      ratePerSecond: 10,
    });
    expect(done.map((d) => d.status)).toEqual(['redriven', 'redriven']);
    await expect.poll(async () => (await applied('edc-test', 'POISON-2')).length).toBe(1);
    await expect.poll(openDeadLetters, { timeout: 15_000 }).toBe(1);
    const [again] = await desk.list({ consumer: 'edc-test', status: 'open' });
    expect(again).toMatchObject({
      stream: 'REPORTS',
      subject: `reports.${TRIAL}.POISON-3`,
      deliveries: 3,
    });
    expect(again!.lastError).toMatch(/cannot apply POISON-3/);
  });

  it('serves the desk over HTTP', async () => {
    const app = deadLetterRoutes(await DeadLetterDesk.open(conn));
    const list = (await (await app.request('/?consumer=edc-test')).json()) as {
      items: { id: string; status: string }[];
    };
    expect(list.items.length).toBeGreaterThanOrEqual(4);
    const open = list.items.find((i) => i.status === 'open')!;
    expect((await app.request(`/${open.id}`)).status).toBe(200);
    expect((await app.request('/dl-424242')).status).toBe(404);
    expect((await app.request('/?status=lost')).status).toBe(400);
    const post = (path: string, body: unknown) =>
      app.request(path, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const noReason = await post(`/${open.id}/discard`, { actor: operator });
    expect(noReason.status).toBe(400);
    expect(((await noReason.json()) as { issues: { path: string }[] }).issues[0]!.path).toBe(
      'reason',
    );
    const discarded = await post(`/${open.id}/discard`, {
      actor: operator,
      reason: 'duplicate device',
    });
    expect(discarded.status).toBe(200);
    expect(((await discarded.json()) as { status: string }).status).toBe('discarded');
    expect((await post(`/${open.id}/redrive`, { actor: operator, reason: 'x' })).status).toBe(409);
  });

  it('two changes at once: one wins, the other is a conflict, and the history has one', async () => {
    const desk = await DeadLetterDesk.open(conn);
    const [open] = await desk.list({ consumer: 'other-test', status: 'open' });
    const results = await Promise.allSettled([
      desk.discard(open!.id, { actor: operator, reason: 'first' }),
      desk.redrive(open!.id, { actor: { id: 'ops.kim', role: 'monitor' }, reason: 'second' }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const lost = results.find((r) => r.status === 'rejected');
    expect(lost?.reason).toBeInstanceOf(DeadLetterConflictError);
    const history = (await desk.get(open!.id)).history;
    expect(history).toHaveLength(2);
    // The loser sent nothing: copies on redrive.other-test match the recorded redrives.
    const jsm = await jetstreamManager(conn.nc);
    const sent =
      (await jsm.streams.info('REDRIVE', { subjects_filter: 'redrive.other-test' })).state
        .subjects ?? {};
    expect(sent['redrive.other-test'] ?? 0).toBe(
      history.filter((h) => h.action === 'redriven').length,
    );
  });
});
