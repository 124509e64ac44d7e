import {
  newEventId,
  parseReportsEvent,
  redriveSubject,
  reportSubject,
  type ProjectCreated,
  type ReportsEvent,
} from '@cohort/contracts';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { Registry } from 'prom-client';
import type { Gauge } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Connection } from '../connection.js';
import { createLogger } from '../logger.js';
import { Publisher } from '../publisher.js';
import type { Sql, SqlStore } from '../store/sql-store.js';
import { NatsServer } from '../testing/nats-server.js';
import { reportSubmitted } from '../testing/events.js';
import { testStores } from '../testing/stores.js';
import { FAILURES_BUCKET, provision, topology } from '../topology.js';
import type { FailureRecord } from './failures.js';
import { SubscriberMetrics } from './metrics.js';
import type { SubscriberOptions } from './options.js';
import { PermanentError } from './errors.js';
import type { Projection } from './projection.js';
import { Subscriber } from './pull-loop.js';

const enc = new TextEncoder();
let server: NatsServer;
let conn: Connection;
let jsm: JetStreamManager;
let publisher: Publisher;

beforeAll(async () => {
  // A short dedup window, so a test can publish "long after" it.
  server = await NatsServer.start();
  conn = await connect({ servers: server.url, name: 'runtime-test' });
  jsm = await jetstreamManager(conn.nc);
  await provision(conn, jsm, topology({ duplicateWindowMs: 1_000 }));
  publisher = new Publisher(conn);
});

afterAll(async () => {
  await conn?.drain();
  await server?.dispose();
});

/** Request ids of FLAKY-* reports that have failed once already. */
const failedOnce = new Set<string>();

/**
 * A projection that records every report. Patients named for a failure fail that way: POISON-*
 * always (a plain error, retried), FLAKY-* on the first delivery only, PERMANENT-* with a
 * PermanentError, NEGATIVE-* by breaking a check constraint of the table.
 */
function testProjection(
  name: string,
  trialId: string,
  opts: { maxDeliver?: number } = {},
): Projection<ReportsEvent> {
  return {
    consumer: {
      stream: 'REPORTS',
      name,
      filterSubject: `reports.${trialId}.*`,
      maxDeliver: opts.maxDeliver ?? 3,
      ackWaitMs: 5_000,
    },
    parse: parseReportsEvent,
    migrations: [
      {
        version: 1,
        name: 'seen',
        sql: `CREATE TABLE IF NOT EXISTS seen (
          consumer text, request_id text, seq bigint CHECK (seq > 0)
        )`,
      },
    ],
    key: (e) => e.data.requestId,
    async apply(tx: Sql, event, meta) {
      const { patientId, requestId } = event.data;
      if (patientId.startsWith('POISON')) throw new Error(`cannot apply ${patientId}`);
      if (patientId.startsWith('PERMANENT')) throw new PermanentError(`no such ${patientId}`);
      if (patientId.startsWith('FLAKY') && !failedOnce.has(requestId)) {
        failedOnce.add(requestId);
        throw new Error(`not yet ${patientId}`);
      }
      await tx.query('INSERT INTO seen (consumer, request_id, seq) VALUES ($1, $2, $3)', [
        name,
        requestId,
        patientId.startsWith('NEGATIVE') ? -meta.seq : meta.seq,
      ]);
    },
  };
}

/**
 * Publishes a report as epro-api does: the message id is the requestId, so the stream drops a
 * copy inside its dedup window. `msgId` publishes it under another id instead.
 */
async function publish(trialId: string, patientId: string, requestId?: string, msgId?: string) {
  const e = reportSubmitted({ trialId, patientId, requestId });
  return publisher.publish(reportSubject(trialId, patientId), enc.encode(JSON.stringify(e)), {
    msgId: msgId ?? e.data.requestId,
  });
}

async function seen(store: SqlStore, name: string) {
  const { rows } = await store.query<{ request_id: string; seq: string }>(
    'SELECT request_id, seq FROM seen WHERE consumer = $1 ORDER BY seq',
    [name],
  );
  return rows;
}

function startSubscriber(
  store: SqlStore,
  projection: Projection<ReportsEvent>,
  backoffMs = [200],
  opts: SubscriberOptions = {},
) {
  const sub = new Subscriber(
    conn,
    store,
    projection,
    new SubscriberMetrics(new Registry()),
    createLogger('test'),
    { backoffMs, lingerMs: 5, ...opts },
  );
  return sub;
}

async function advisories(subject: string) {
  const received: { stream_seq: number; deliveries?: number; consumer: string }[] = [];
  const sub = conn.nc.subscribe(subject, {
    callback: (_e, m) => {
      received.push(m.json());
    },
  });
  await conn.nc.flush();
  return { received, stop: () => sub.unsubscribe() };
}

describe.each(testStores())('subscriber runtime on $kind', ({ kind, open, cleanup }) => {
  let store: SqlStore;
  const trial = `RT${kind}`;

  beforeAll(async () => {
    store = await open();
  });
  afterAll(async () => {
    await store?.close();
    await cleanup();
  });

  it('applies each requestId once, even when published again long after the dedup window', async () => {
    const name = `test-${kind}-once`;
    const t = `${trial}ONCE`;
    const sub = startSubscriber(store, testProjection(name, t));
    await sub.start();
    const requestId = crypto.randomUUID();
    const a = await publish(t, 'P1', requestId);
    expect(a.duplicate).toBe(false);
    // A retry inside the window: the stream drops it.
    expect(await publish(t, 'P1', requestId)).toMatchObject({ duplicate: true, seq: a.seq });
    // Once the window has passed, the stream stores the copy (another event id, same requestId).
    let b = a;
    await expect
      .poll(async () => (b = await publish(t, 'P1', requestId)).duplicate, {
        timeout: 5_000,
        interval: 100,
      })
      .toBe(false);
    expect(b.seq).toBeGreaterThan(a.seq);
    await publish(t, 'P2');
    await expect
      .poll(async () => {
        const info = await jsm.consumers.info('REPORTS', name);
        return [info.num_pending, info.num_ack_pending];
      })
      .toEqual([0, 0]);
    const rows = await seen(store, name);
    expect(rows).toHaveLength(2);
    // The first copy, applied once: the later one was skipped by its requestId.
    expect(rows.filter((r) => r.request_id === requestId).map((r) => Number(r.seq))).toEqual([
      a.seq,
    ]);
    await sub.stop();
  });

  it('skips keys applied before within a batch of new ones, and copies within the batch', async () => {
    const name = `test-${kind}-mixed`;
    const t = `${trial}MIXED`;
    const registry = new Registry();
    const metrics = new SubscriberMetrics(registry);
    const projection = testProjection(name, t);
    const sub = new Subscriber(conn, store, projection, metrics, createLogger('test'), {
      lingerMs: 50,
    });
    await sub.start();
    const first = Array.from({ length: 5 }, () => crypto.randomUUID());
    for (const [i, r] of first.entries()) await publish(t, `P${i}`, r);
    await expect.poll(async () => (await seen(store, name)).length, { timeout: 10_000 }).toBe(5);
    await sub.stop();
    // Past the dedup window, so the stream keeps the copies: one batch of old and new keys.
    await expect
      .poll(async () => (await publish(t, 'P0', first[0])).duplicate, {
        timeout: 5_000,
        interval: 100,
      })
      .toBe(false);
    const fresh = Array.from({ length: 5 }, () => crypto.randomUUID());
    const acks = [await publish(t, 'Q0', fresh[0])];
    for (let i = 1; i < 5; i++) {
      acks.push(await publish(t, `P${i}`, first[i]));
      acks.push(await publish(t, `Q${i}`, fresh[i]));
    }
    // A copy inside the same batch, which reached the stream under another message id.
    acks.push(await publish(t, 'Q0', fresh[0], crypto.randomUUID()));
    expect(acks.map((a) => a.duplicate)).toEqual(acks.map(() => false));
    const again = new Subscriber(conn, store, projection, metrics, createLogger('test'), {
      lingerMs: 50,
    });
    await again.start();
    const counter = async (metric: string) =>
      (await registry.getSingleMetric(metric)!.get()).values.reduce((n, v) => n + v.value, 0);
    const done = async () =>
      (await counter('cohort_subscriber_applied_total')) +
      (await counter('cohort_subscriber_skipped_total'));
    await expect.poll(done, { timeout: 10_000 }).toBe(5 + 11);
    expect(await counter('cohort_subscriber_applied_total')).toBe(10);
    expect(await counter('cohort_subscriber_skipped_total')).toBe(6);
    const rows = await seen(store, name);
    expect(rows.map((r) => r.request_id).sort()).toEqual([...first, ...fresh].sort());
    await expect
      .poll(async () => {
        const info = await jsm.consumers.info('REPORTS', name);
        return [info.num_pending, info.num_ack_pending];
      })
      .toEqual([0, 0]);
    await again.stop();
  });

  it('isolates a poison message: the rest apply at once, it retries then dies at max deliver', async () => {
    const name = `test-${kind}-poison`;
    const t = `${trial}POISON`;
    const adv = await advisories(`$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.REPORTS.${name}`);
    const sub = startSubscriber(store, testProjection(name, t, { maxDeliver: 3 }));
    // Publish before starting, so the poison sits in the middle of one batch.
    await publish(t, 'P1');
    const poison = await publish(t, 'POISON-1');
    for (let i = 2; i <= 5; i++) await publish(t, `P${i}`);
    await sub.start();
    await expect.poll(async () => (await seen(store, name)).length, { timeout: 5_000 }).toBe(5);
    // Healthy messages published behind the poison flow while it is being retried.
    await publish(t, 'P6');
    await expect.poll(async () => (await seen(store, name)).length, { timeout: 5_000 }).toBe(6);
    await expect.poll(() => adv.received.length, { timeout: 15_000 }).toBe(1);
    expect(adv.received[0]).toMatchObject({
      stream_seq: poison.seq,
      deliveries: 3,
      consumer: name,
    });
    const kv = await new Kvm(conn.nc).open(FAILURES_BUCKET);
    const record = (await kv.get(`${name}.${poison.seq}`))!.json<FailureRecord>();
    expect(record).toMatchObject({
      consumer: name,
      seq: poison.seq,
      deliveries: 3,
      kind: 'handler',
      error: 'Error: cannot apply POISON-1',
    });
    expect((await seen(store, name)).map((r) => r.request_id)).toHaveLength(6);
    adv.stop();
    await sub.stop();
  });

  it('terminates a schema-invalid message at once and records why', async () => {
    const name = `test-${kind}-invalid`;
    const t = `${trial}INVALID`;
    const terminated = await advisories(
      `$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.REPORTS.${name}`,
    );
    const sub = startSubscriber(store, testProjection(name, t));
    const bad = await publisher.publish(
      `reports.${t}.P1`,
      enc.encode(JSON.stringify({ ...reportSubmitted(), data: { trialId: 'x' } })),
    );
    await publish(t, 'P2');
    await sub.start();
    await expect.poll(async () => (await seen(store, name)).length, { timeout: 5_000 }).toBe(1);
    const kv = await new Kvm(conn.nc).open(FAILURES_BUCKET);
    await expect
      .poll(async () => (await kv.get(`${name}.${bad.seq}`))?.value.length ?? 0)
      .toBeGreaterThan(0);
    const record = (await kv.get(`${name}.${bad.seq}`))!.json<FailureRecord>();
    expect(record).toMatchObject({ kind: 'invalid', deliveries: 1 });
    expect(record.error).toMatch(/data\.requestId/);
    // Terminated, not acked: the server says so, after its one delivery.
    await expect.poll(() => terminated.received.length, { timeout: 5_000 }).toBe(1);
    expect(terminated.received[0]).toMatchObject({ stream_seq: bad.seq, deliveries: 1 });
    await expect
      .poll(async () => (await jsm.consumers.info('REPORTS', name)).num_ack_pending, {
        timeout: 5_000,
      })
      .toBe(0);
    terminated.stop();
    await sub.stop();
  });

  it('finishes and acks the batch in hand on stop, and a restart applies nothing twice', async () => {
    const name = `test-${kind}-stop`;
    const t = `${trial}STOP`;
    for (let i = 0; i < 2_000; i++) void publish(t, `P${i % 20}`);
    await conn.nc.flush();
    // Stopped right after its first commit: in the middle of the burst, with a batch in hand.
    let stopped: Promise<void> | undefined;
    const sub: Subscriber = startSubscriber(store, testProjection(name, t), [200], {
      batchSize: 100, // small batches: what is in hand at the stop is far from the whole burst
      afterCommit: () => void (stopped ??= sub.stop()),
    });
    await sub.start();
    await expect.poll(() => stopped !== undefined, { timeout: 10_000 }).toBe(true);
    await stopped;
    const afterStop = (await seen(store, name)).length;
    expect(afterStop).toBeGreaterThan(0);
    expect(afterStop).toBeLessThan(2_000);
    // Unacked messages would stay pending for the 5 s ack wait; acked ones clear at once.
    await expect
      .poll(async () => (await jsm.consumers.info('REPORTS', name)).num_ack_pending, {
        timeout: 1_000,
      })
      .toBe(0);
    const again = startSubscriber(store, testProjection(name, t));
    await again.start();
    await expect
      .poll(async () => (await seen(store, name)).length, { timeout: 15_000 })
      .toBe(2_000);
    const rows = await seen(store, name);
    expect(new Set(rows.map((r) => r.request_id)).size).toBe(2_000);
    await again.stop();
  });
  it('terminates an event of a type its stream does not hold, as invalid', async () => {
    const name = `test-${kind}-foreign`;
    const t = `${trial}FOREIGN`;
    const terminated = await advisories(
      `$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.REPORTS.${name}`,
    );
    const sub = startSubscriber(store, testProjection(name, t));
    const now = new Date().toISOString();
    // A valid event of PROJECTS, on a subject of REPORTS.
    const foreign: ProjectCreated = {
      id: newEventId(),
      type: 'ProjectCreated',
      version: 1,
      occurredAt: now,
      recordedAt: now,
      source: 'test',
      actor: { id: 'dr.lee', role: 'sponsor' },
      correlationId: 'c',
      causationId: 'c',
      data: { projectId: t, name: 'Trial', requestId: crypto.randomUUID(), status: 'planned' },
    };
    const bad = await publisher.publish(`reports.${t}.P1`, enc.encode(JSON.stringify(foreign)));
    await publish(t, 'P2');
    await sub.start();
    await expect.poll(() => terminated.received.length, { timeout: 5_000 }).toBe(1);
    expect(terminated.received[0]).toMatchObject({ stream_seq: bad.seq, consumer: name });
    const kv = await new Kvm(conn.nc).open(FAILURES_BUCKET);
    const record = (await kv.get(`${name}.${bad.seq}`))!.json<FailureRecord>();
    expect(record).toMatchObject({ kind: 'invalid', deliveries: 1 });
    expect(record.error).toMatch(/unknown event ProjectCreated v1/);
    await expect.poll(async () => (await seen(store, name)).length).toBe(1);
    terminated.stop();
    await sub.stop();
  });

  it('terminates a PermanentError and a constraint violation after one delivery; the rest of the batch applies, a transient error is retried', async () => {
    const name = `test-${kind}-permanent`;
    const t = `${trial}PERMANENT`;
    const terminated = await advisories(
      `$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.REPORTS.${name}`,
    );
    const maxed = await advisories(`$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.REPORTS.${name}`);
    const sub = startSubscriber(store, testProjection(name, t, { maxDeliver: 3 }));
    // Published before the start: one batch holds them all.
    await publish(t, 'P1');
    const permanent = await publish(t, 'PERMANENT-1');
    const violation = await publish(t, 'NEGATIVE-1');
    const flaky = await publish(t, 'FLAKY-1');
    await publish(t, 'P2');
    await sub.start();
    await expect.poll(() => terminated.received.length, { timeout: 5_000 }).toBe(2);
    expect(
      terminated.received.map((a) => [a.stream_seq, a.deliveries]).sort((x, y) => x[0]! - y[0]!),
    ).toEqual([
      [permanent.seq, 1],
      [violation.seq, 1],
    ]);
    // The transient failure came again and was applied; the healthy ones at once.
    await expect.poll(async () => (await seen(store, name)).length, { timeout: 5_000 }).toBe(3);
    const kv = await new Kvm(conn.nc).open(FAILURES_BUCKET);
    const record = async (seq: number) => (await kv.get(`${name}.${seq}`))!.json<FailureRecord>();
    expect(await record(permanent.seq)).toMatchObject({
      kind: 'permanent',
      deliveries: 1,
      error: 'PermanentError: no such PERMANENT-1',
    });
    expect(await record(violation.seq)).toMatchObject({ kind: 'permanent', deliveries: 1 });
    expect((await record(violation.seq)).error).toMatch(/check constraint/);
    expect(await record(flaky.seq)).toMatchObject({ kind: 'handler', deliveries: 1 });
    await expect
      .poll(async () => (await jsm.consumers.info('REPORTS', name)).num_ack_pending)
      .toBe(0);
    expect(maxed.received).toEqual([]);
    terminated.stop();
    maxed.stop();
    await sub.stop();
  });

  it('counts messages delivered but not yet acknowledged in its lag', async () => {
    const name = `test-${kind}-lag`;
    const t = `${trial}LAG`;
    const registry = new Registry();
    const base = testProjection(name, t);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const projection: Projection<ReportsEvent> = {
      ...base,
      async apply(tx, event, meta) {
        await held; // the batch stays in the database, unacknowledged
        await base.apply(tx, event, meta);
      },
    };
    const sub = new Subscriber(
      conn,
      store,
      projection,
      new SubscriberMetrics(registry),
      createLogger('test'),
      { lingerMs: 5 },
    );
    const gauge = registry.getSingleMetric('cohort_subscriber_lag') as Gauge;
    const lagGauge = async () => (await gauge.get()).values[0]?.value;
    await sub.start();
    await expect.poll(lagGauge).toBe(0); // read before anything was published
    // Each is delivered at once, to the fetch the subscriber holds open.
    for (let i = 0; i < 5; i++) await publish(t, `P${i}`);
    // Every message delivered, none acknowledged.
    await expect
      .poll(async () => {
        const info = await jsm.consumers.info('REPORTS', name);
        return [info.num_pending, info.num_ack_pending];
      })
      .toEqual([0, 5]);
    expect(await sub.lag()).toBe(5);
    await expect.poll(lagGauge, { timeout: 2 * 5_000 }).toBe(5); // read every 5 s

    release();
    await expect.poll(() => sub.lag()).toBe(0);
    expect(await seen(store, name)).toHaveLength(5);
    await sub.stop();
  });

  it('recreates a deleted durable (or redrive durable), not attached meanwhile, and applies everything once', async () => {
    const name = `test-${kind}-heal`;
    const t = `${trial}HEAL`;
    const sub = startSubscriber(store, testProjection(name, t));
    await sub.start();
    for (let i = 0; i < 10; i++) await publish(t, `P${i}`);
    await expect.poll(async () => (await seen(store, name)).length).toBe(10);
    expect(sub.attached).toBe(true);

    await jsm.consumers.delete('REPORTS', name);
    await expect.poll(() => sub.attached, { timeout: 10_000 }).toBe(false);
    for (let i = 10; i < 20; i++) await publish(t, `P${i}`);
    await expect.poll(() => sub.attached, { timeout: 10_000 }).toBe(true);
    await expect.poll(async () => (await seen(store, name)).length, { timeout: 10_000 }).toBe(20);
    expect((await jsm.consumers.info('REPORTS', name)).config.filter_subject).toBe(
      `reports.${t}.*`,
    );

    const redrive = `${name}-redrive`;
    await jsm.consumers.delete('REDRIVE', redrive);
    await expect.poll(() => sub.attached, { timeout: 10_000 }).toBe(false);
    await expect.poll(() => sub.attached, { timeout: 10_000 }).toBe(true);
    expect((await jsm.consumers.info('REDRIVE', redrive)).config.filter_subject).toBe(
      redriveSubject(name),
    );
    for (let i = 20; i < 25; i++) await publish(t, `P${i}`);
    await expect.poll(async () => (await seen(store, name)).length, { timeout: 10_000 }).toBe(25);
    const rows = await seen(store, name);
    expect(new Set(rows.map((r) => r.request_id)).size).toBe(25);
    await expect
      .poll(async () => {
        const info = await jsm.consumers.info('REPORTS', name);
        return [info.num_pending, info.num_ack_pending];
      })
      .toEqual([0, 0]);
    await sub.stop();
  });
});
