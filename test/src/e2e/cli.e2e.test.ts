import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { reportSubject } from '@cohort/contracts';
import { Publisher, type Connection } from '@cohort/infra';
import {
  connect,
  createLogger,
  openStore,
  provision,
  Subscriber,
  SubscriberMetrics,
  topology,
  type SqlStore,
  freePort,
  NatsServer,
  reportSubmitted,
} from '@cohort/infra/testing';
import { jetstreamManager } from '@nats-io/jetstream';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appliedFor, failingProjection } from '../support/failing-projection.js';
import { identity } from '../support/identity.js';
import { REPO_ROOT } from '../support/service-process.js';

const BIN = join(REPO_ROOT, 'infra', 'bin', 'cohort.mjs');
const TRIAL = 'CLI';
const enc = new TextEncoder();
const broken = new Set(['BAD-1', 'BAD-2']);

let nats: NatsServer;
let conn: Connection;
let store: SqlStore;
let subscriber: Subscriber;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** An operator: the dead-letter desk's actions need the ops role. */
const OPS = { sub: 'ops.kim', role: 'ops' as const, trials: [] };

/** Runs the real `cohort` binary against the test's nats-server, as OPS unless `env` says. */
async function cohort(args: string[], env: Record<string, string> = {}): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], {
      env: {
        ...process.env,
        ...identity.env,
        NATS_URL: nats.url,
        COHORT_TOKEN: await identity.sign(OPS),
        ...env,
      },
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

const projection = failingProjection('cli-test', TRIAL, broken);

/**
 * How many messages the projection's consumer gave up on: the server's MAX_DELIVERIES
 * advisories, which the ADVISORIES stream keeps.
 */
async function maxDeliveries(): Promise<number> {
  const subject = `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.REPORTS.${projection.consumer.name}`;
  const info = await (
    await jetstreamManager(conn.nc)
  ).streams.info('ADVISORIES', { subjects_filter: subject });
  return info.state.subjects?.[subject] ?? 0;
}

const metrics = new SubscriberMetrics(new Registry());
const skipped = async () => (await metrics.skipped.get()).values[0]?.value ?? 0;

beforeAll(async () => {
  nats = await NatsServer.start();
  conn = await connect({ servers: nats.url, name: 'cli-e2e' });
  await provision(conn, await jetstreamManager(conn.nc), topology());
  store = await openStore({ service: 'cli' });
  subscriber = new Subscriber(conn, store, projection, metrics, createLogger('t'), {
    backoffMs: [100],
    lingerMs: 5,
  });
  await subscriber.start();
  const p = new Publisher(conn);
  for (const patientId of ['BAD-1', 'OK-1', 'BAD-2']) {
    const e = reportSubmitted({ trialId: TRIAL, patientId });
    await p.publish(reportSubject(TRIAL, patientId), enc.encode(JSON.stringify(e)), {
      msgId: e.id,
    });
  }
  // Both failing reports reach max deliver (2) with a 100 ms backoff.
  // (expect.poll works only inside a test.)
  for (const deadline = Date.now() + 15_000; (await maxDeliveries()) < 2;) {
    if (Date.now() > deadline) throw new Error('the failing reports never reached max deliver');
    await new Promise((r) => setTimeout(r, 50));
  }
});

afterAll(async () => {
  await subscriber?.stop();
  await store?.close();
  await conn?.drain();
  await nats?.dispose();
});

describe('cohort dlq (the real binary)', () => {
  let ids: string[] = [];

  it('lists the dead letters as JSON, capturing what no service captured', async () => {
    const r = await cohort(['dlq', 'list', '--consumer', 'cli-test', '--json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/captured 2 new dead letter/);
    const items = JSON.parse(r.stdout) as {
      id: string;
      status: string;
      deliveries: number;
      lastError: string;
      subject: string;
    }[];
    expect(items.map((i) => i.subject).sort()).toEqual([
      `reports.${TRIAL}.BAD-1`,
      `reports.${TRIAL}.BAD-2`,
    ]);
    expect(items.every((i) => i.status === 'open' && i.deliveries === 2)).toBe(true);
    expect(items[0]!.lastError).toMatch(/no mapping for BAD-/);
    ids = items.map((i) => i.id);
    const table = await cohort(['dlq', 'list', '--status', 'open']);
    expect(table.code).toBe(0);
    expect(table.stdout.trim().split('\n')).toHaveLength(2);
  });

  it('shows one with its payload and history', async () => {
    const r = await cohort(['dlq', 'show', ids[0]!]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/consumer: +cli-test/);
    expect(r.stdout).toMatch(/last error: +Error: no mapping for BAD-1/);
    expect(r.stdout).toMatch(/captured +by jetstream \(system\)/);
    expect(r.stdout).toContain('"patientId": "BAD-1"');
  });

  it('redrives one after the fix, saying who and why; it is applied once', async () => {
    broken.delete('BAD-1');
    const r = await cohort(['dlq', 'redrive', ids[0]!, '--reason', 'mapping for BAD-1 added']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/redriven/);
    await expect.poll(() => appliedFor(store, 'BAD-1'), { timeout: 10_000 }).toBe(1);
    const skippedBefore = await skipped();
    // The same operator, with the token given as a flag.
    const again = await cohort(
      ['dlq', 'redrive', ids[0]!, '--reason', 'again', '--token', await identity.sign(OPS)],
      { COHORT_TOKEN: '' },
    );
    expect(again.code).toBe(0);
    // The second copy has arrived once the inbox has skipped it.
    await expect.poll(skipped, { timeout: 10_000 }).toBe(skippedBefore + 1);
    expect(await appliedFor(store, 'BAD-1')).toBe(1);
    const show = JSON.parse((await cohort(['dlq', 'show', ids[0]!, '--json'])).stdout) as {
      status: string;
      history: { action: string; actor: { id: string }; reason: string }[];
    };
    expect(show.status).toBe('redriven');
    expect(show.history.slice(1)).toMatchObject([
      { action: 'redriven', actor: { id: 'ops.kim' }, reason: 'mapping for BAD-1 added' },
      { action: 'redriven', actor: { id: 'ops.kim' }, reason: 'again' },
    ]);
  });

  it('discards one, keeping the record', async () => {
    const r = await cohort(['dlq', 'discard', ids[1]!, '--reason', 'device test data']);
    expect(r.code).toBe(0);
    const list = JSON.parse(
      (await cohort(['dlq', 'list', '--status', 'discarded', '--json'])).stdout,
    ) as { id: string }[];
    expect(list.map((d) => d.id)).toEqual([ids[1]]);
  });

  it('exit codes scripts can rely on', async () => {
    expect((await cohort(['dlq', 'redrive', ids[1]!, '--reason', 'x'])).code).toBe(4); // discarded
    expect((await cohort(['dlq', 'show', 'dl-987654'])).code).toBe(3);
    const noWho = await cohort(['dlq', 'discard', ids[0]!, '--reason', 'x'], { COHORT_TOKEN: '' });
    expect(noWho.code).toBe(5);
    expect(noWho.stderr).toMatch(/COHORT_TOKEN/);
    const monitor = await identity.sign({ sub: 'cra.kim', role: 'monitor', trials: ['*'] });
    const notOps = await cohort(['dlq', 'discard', ids[0]!, '--reason', 'x'], {
      COHORT_TOKEN: monitor,
    });
    expect(notOps.code).toBe(5);
    expect((await cohort(['dlq', 'list'], { COHORT_TOKEN: 'not.a.token' })).code).toBe(5);
    expect((await cohort(['dlq', 'discard', ids[0]!])).code).toBe(2); // no reason
    expect((await cohort(['dlq', 'show', 'nonsense'])).code).toBe(2);
    expect((await cohort(['dlq', 'list', '--status', 'lost'])).code).toBe(2);
    expect((await cohort(['dlq', 'list', '--bogus'])).code).toBe(2);
    expect((await cohort(['dlq', 'frobnicate'])).code).toBe(2);
    expect((await cohort(['dlq', 'redrive', '--all', '--reason', 'x'])).code).toBe(2);
    const down = await cohort(['dlq', 'list'], {
      NATS_URL: `nats://127.0.0.1:${await freePort()}`,
    });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/cannot reach NATS/);
  });

  it('redrives all open dead letters of a consumer', async () => {
    broken.add('BAD-3');
    const givenUp = await maxDeliveries();
    const e = reportSubmitted({ trialId: TRIAL, patientId: 'BAD-3' });
    await new Publisher(conn).publish(
      reportSubject(TRIAL, 'BAD-3'),
      enc.encode(JSON.stringify(e)),
      { msgId: e.id },
    );
    await expect.poll(maxDeliveries, { timeout: 15_000 }).toBe(givenUp + 1);
    broken.delete('BAD-3');
    const r = await cohort([
      'dlq',
      'redrive',
      '--consumer',
      'cli-test',
      '--all',
      '--reason',
      'fixed',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/redrove 1 dead letter/);
    await expect.poll(() => appliedFor(store, 'BAD-3'), { timeout: 10_000 }).toBe(1);
  });
});
