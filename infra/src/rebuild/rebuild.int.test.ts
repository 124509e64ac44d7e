import { parseReportsEvent, reportSubject, type ReportsEvent } from '@cohort/contracts';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Connection } from '../connection.js';
import { DeadLetterDesk } from '../deadletters/desk.js';
import { createLogger } from '../logger.js';
import { enqueue, outboxMigration } from '../outbox/outbox.js';
import { Publisher } from '../publisher.js';
import type { Sql, SqlStore } from '../store/sql-store.js';
import { PermanentError } from '../subscriber/errors.js';
import { SubscriberMetrics } from '../subscriber/metrics.js';
import type { Projection } from '../subscriber/projection.js';
import { Subscriber } from '../subscriber/pull-loop.js';
import { reportSubmitted } from '../testing/events.js';
import { NatsServer } from '../testing/nats-server.js';
import { testStores } from '../testing/stores.js';
import { provision, topology } from '../topology.js';
import { rebuildDeadLetterId } from './dead-letter.js';
import { Rebuild, type RebuildDeps } from './rebuild.js';
import { RebuildRunning } from './record.js';
import { tablesOf } from './shadow.js';

/** How long a burst may take to be applied on a busy machine: a bound, not an expectation. */
const DRAIN_WAIT = { timeout: 30_000, interval: 100 };

const enc = new TextEncoder();
const log = createLogger('rebuild-test');
const ops = { id: 'ops-1', role: 'ops' as const };
let server: NatsServer;
let conn: Connection;
let jsm: JetStreamManager;
let publisher: Publisher;
let desk: DeadLetterDesk;

beforeAll(async () => {
  server = await NatsServer.start();
  conn = await connect({ servers: server.url, name: 'rebuild-test' });
  jsm = await jetstreamManager(conn.nc);
  await provision(conn, jsm, topology({ duplicateWindowMs: 1_000 }));
  publisher = new Publisher(conn);
  desk = await DeadLetterDesk.open(conn, log);
});

afterAll(async () => {
  await desk?.stop();
  await conn?.drain();
  await server?.dispose();
});

/**
 * A read model of one trial's reports: one row per requestId, a running count per patient, and
 * an effect queued in the outbox per report. It keeps nothing of which copy was applied: live
 * delivery may commit a copy's batch before its original's (a batch retried after an inbox
 * conflict waits behind the next one), a rebuild applies the first in stream order. Patients
 * named PERMANENT-* can never be applied.
 */
function tallyProjection(name: string, trialId: string, tag = trialId): Projection<ReportsEvent> {
  const seen = `seen_${tag.toLowerCase()}`;
  const perPatient = `per_patient_${tag.toLowerCase()}`;
  return {
    consumer: { stream: 'REPORTS', name, filterSubject: `reports.${trialId}.*`, ackWaitMs: 5_000 },
    parse: parseReportsEvent,
    key: (e) => e.data.requestId,
    migrations: [
      {
        version: 1,
        name: 'tally',
        sql: `CREATE TABLE ${seen} (request_id text PRIMARY KEY, patient_id text);
          CREATE TABLE ${perPatient} (patient_id text PRIMARY KEY, reports integer NOT NULL)`,
      },
      outboxMigration(2),
    ],
    async apply(tx: Sql, event) {
      const { patientId, requestId } = event.data;
      if (patientId.startsWith('PERMANENT')) throw new PermanentError(`no such ${patientId}`);
      await tx.query(`INSERT INTO ${seen} VALUES ($1, $2)`, [requestId, patientId]);
      await tx.query(
        `INSERT INTO ${perPatient} VALUES ($1, 1)
         ON CONFLICT (patient_id) DO UPDATE SET reports = ${perPatient}.reports + 1`,
        [patientId],
      );
      await enqueue(tx, [{ id: `effect-${tag}-${requestId}`, kind: tag, payload: { requestId } }]);
    },
  };
}

/** Publishes a report; `copy` stores it again under another message id (a second copy). */
async function publish(
  trialId: string,
  patientId: string,
  requestId: string = crypto.randomUUID(),
) {
  const e = reportSubmitted({ trialId, patientId, requestId });
  return publisher.publish(reportSubject(trialId, patientId), enc.encode(JSON.stringify(e)), {
    msgId: crypto.randomUUID(),
  });
}

/** `n` reports, then a second copy of every third (another event, the same requestId). */
async function burst(trialId: string, n: number): Promise<void> {
  const sent: [string, string][] = [];
  for (let i = 0; i < n; i++) {
    const requestId = crypto.randomUUID();
    await publish(trialId, `P${i % 4}`, requestId);
    sent.push([`P${i % 4}`, requestId]);
  }
  for (const [patientId, requestId] of sent.filter((_, i) => i % 3 === 0)) {
    await publish(trialId, patientId, requestId);
  }
}

/** The tables of the tally tagged `tag`, and its effects (without the tag in their ids). */
async function snapshot(db: Sql, tag: string) {
  const t = tag.toLowerCase();
  const seen = await db.query(`SELECT * FROM seen_${t} ORDER BY request_id`);
  const perPatient = await db.query(`SELECT * FROM per_patient_${t} ORDER BY patient_id`);
  const outbox = await db.query<{ id: string; sent_at: string | null }>(
    'SELECT id, sent_at FROM cohort_outbox WHERE kind = $1 ORDER BY id',
    [tag],
  );
  const effects = outbox.rows.map((o) => ({ ...o, id: o.id.replace(`-${tag}-`, '-') }));
  return { seen: seen.rows, perPatient: perPatient.rows, outbox: effects };
}

async function drained(name: string) {
  await expect
    .poll(async () => {
      const info = await jsm.consumers.info('REPORTS', name);
      return info.num_pending + info.num_ack_pending;
    }, DRAIN_WAIT)
    .toBe(0);
}

function live(store: SqlStore, projection: Projection<ReportsEvent>) {
  return new Subscriber(conn, store, projection, new SubscriberMetrics(new Registry()), log, {
    lingerMs: 5,
    backoffMs: [100],
  });
}

describe.each(testStores())('rebuilding a projection on $kind', ({ kind, open, cleanup }) => {
  let store: SqlStore;
  beforeAll(async () => {
    store = await open();
  });
  afterAll(async () => {
    await store?.close();
    await cleanup();
  });
  const deps = (projection: Projection<ReportsEvent>, over: Partial<RebuildDeps> = {}) => ({
    conn,
    store,
    projection: projection as Projection,
    log,
    desk,
    ...over,
  });
  const request = { actor: ops, reason: 'test', onFailure: 'stop' as const };

  it('swaps in tables equal to the live ones while live delivery goes on, and refuses a second rebuild', async () => {
    const trial = `RB${kind}EQ`;
    const projection = tallyProjection(`test-${kind}-rebuild-eq`, trial);
    const sub = live(store, projection);
    await sub.start();
    await burst(trial, 30);
    await drained(projection.consumer.name);
    // The relay sent every effect: none may be queued again.
    await store.query('UPDATE cohort_outbox SET sent_at = clock_timestamp()');
    const before = await snapshot(store, trial);
    expect(before.seen).toHaveLength(30);

    const job = await Rebuild.start(deps(projection, { batchSize: 7 }), request);
    await expect(Rebuild.start(deps(projection), request)).rejects.toBeInstanceOf(RebuildRunning);
    const done = await job.done;
    expect(done).toMatchObject({ status: 'swapped', applied: 30, effectsMerged: 0 });
    expect(await snapshot(store, trial)).toEqual(before);
    expect((await tablesOf(store, done.shadowSchema)).length).toBe(0);

    // Live delivery goes on into the swapped-in tables, each message once.
    await burst(trial, 5);
    await drained(projection.consumer.name);
    const after = await snapshot(store, trial);
    expect(after.seen).toHaveLength(35);
    expect(after.outbox.filter((o) => o.sent_at === null)).toHaveLength(5);
    const counts = await store.query<{ total: number }>(
      `SELECT sum(reports)::int AS total FROM per_patient_${trial.toLowerCase()}`,
    );
    expect(counts.rows[0]!.total).toBe(35);
    await sub.stop();
  });

  it('swaps in while reports keep coming, equal to a projection that was never rebuilt', async () => {
    const trial = `RB${kind}BUSY`;
    const projection = tallyProjection(`test-${kind}-rebuild-busy`, trial);
    const reference = tallyProjection(`test-${kind}-rebuild-busy-ref`, trial, `${trial}REF`);
    const subs = [live(store, projection), live(store, reference)];
    for (const s of subs) await s.start();
    await burst(trial, 30);
    await drained(projection.consumer.name);

    const job = await Rebuild.start(deps(projection, { batchSize: 4 }), request);
    // Live delivery applies these while the rebuild reads: it may get ahead of the shadow.
    for (let i = 0; i < 4; i++) await burst(trial, 10);
    expect(await job.done).toMatchObject({ status: 'swapped' });
    await burst(trial, 5);
    await drained(projection.consumer.name);
    await drained(reference.consumer.name);
    const rebuilt = await snapshot(store, trial);
    expect(rebuilt.seen).toHaveLength(75);
    expect(rebuilt).toEqual(await snapshot(store, `${trial}REF`));
    for (const s of subs) await s.stop();
  });

  it('resumes an interrupted rebuild where it stopped and ends equal', async () => {
    const trial = `RB${kind}RESUME`;
    const projection = tallyProjection(`test-${kind}-rebuild-resume`, trial);
    const sub = live(store, projection);
    await sub.start();
    await burst(trial, 20);
    await drained(projection.consumer.name);
    const before = await snapshot(store, trial);

    // Stopped after its second batch, as a shutdown would.
    const started: { job?: Rebuild } = {};
    let batches = 0;
    started.job = await Rebuild.start(
      deps(projection, {
        batchSize: 5,
        afterBatch: () => void (++batches === 2 && started.job?.stop()),
      }),
      request,
    );
    const interrupted = await started.job.done;
    expect(interrupted.status).toBe('interrupted');
    expect(interrupted.appliedSeq).toBeGreaterThan(0);
    expect(interrupted.applied).toBeLessThan(20);

    const resumed = await Rebuild.start(deps(projection, { batchSize: 5 }), request);
    const done = await resumed.done;
    expect(done.status).toBe('swapped');
    // Read on from where it stopped: every report applied once over both runs.
    expect(done.applied).toBe(20);
    expect(await snapshot(store, trial)).toEqual(before);
    await sub.stop();
  });

  it('stops at an event it cannot apply with its sequence, or records it as a dead letter and goes on', async () => {
    const trial = `RB${kind}BAD`;
    const projection = tallyProjection(`test-${kind}-rebuild-bad`, trial);
    await burst(trial, 4);
    const bad = await publish(trial, 'PERMANENT-1');
    await burst(trial, 4);

    const stopped = await (await Rebuild.start(deps(projection, { batchSize: 3 }), request)).done;
    expect(stopped).toMatchObject({ status: 'failed', failedSeq: bad.seq });
    expect(stopped.error).toContain('no such PERMANENT-1');
    // Nothing was swapped in: the live schema has no table of the projection.
    expect(
      (await tablesOf(store, await currentSchema(store))).includes(`seen_${trial.toLowerCase()}`),
    ).toBe(false);

    const job = await Rebuild.start(deps(projection, { batchSize: 3 }), {
      ...request,
      onFailure: 'dead-letter',
    });
    const done = await job.done;
    expect(done).toMatchObject({ status: 'swapped', deadLettered: 1 });
    const seen = await store.query(`SELECT count(*)::int AS n FROM seen_${trial.toLowerCase()}`);
    expect(seen.rows[0]).toEqual({ n: 8 });
    const dl = await desk.get(rebuildDeadLetterId(projection.consumer.name, bad.seq));
    expect(dl).toMatchObject({
      consumer: projection.consumer.name,
      stream: 'REPORTS',
      seq: bad.seq,
      status: 'open',
      cause: 'terminated',
    });
    expect(dl.lastError).toContain('no such PERMANENT-1');
  });
});

async function currentSchema(db: Sql) {
  const { rows } = await db.query<{ s: string }>('SELECT current_schema() AS s');
  return rows[0]!.s;
}
