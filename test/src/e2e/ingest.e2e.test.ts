import { type Connection } from '@cohort/infra';
import { connect, provision, topology, NatsServer, trialsIn } from '@cohort/infra/testing';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportBody } from '../support/reports.js';
import { ServiceProcess } from '../support/service-process.js';
import { as } from '../support/identity.js';

const N = 1_000;
let nats: NatsServer;
let api: ServiceProcess;
let conn: Connection;
let jsm: JetStreamManager;

interface Accepted {
  eventId: string;
  requestId: string;
  seq: number;
  duplicate: boolean;
}

function post(body: unknown, contentType = 'application/json') {
  return fetch(`${api.url}/v1/reports`, {
    method: 'POST',
    headers: { ...as.gateway, 'content-type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const streamCount = async () => (await jsm.streams.info('REPORTS')).state.messages;

beforeAll(async () => {
  nats = await NatsServer.start();
  conn = await connect({ servers: nats.url, name: 'ingest-e2e' });
  await provision(conn, await jetstreamManager(conn.nc), topology());
  await trialsIn(conn, ['TRIAL-E2E', 'TRIAL-TERM']);
  api = await ServiceProcess.start('epro-api', { NATS_URL: nats.url });
  jsm = await jetstreamManager(conn.nc);
});

afterAll(async () => {
  await conn?.drain();
  await api?.stop('SIGKILL');
  await nats?.dispose();
});

describe('epro-api as a process', () => {
  const bodies = Array.from({ length: N }, (_, i) => reportBody('TRIAL-E2E', `P${i % 50}`, i));
  const first = new Map<string, Accepted>();

  it(`stores ${N} concurrent submissions exactly once`, async () => {
    const responses = await Promise.all(bodies.map((b) => post(b)));
    expect(responses.map((r) => r.status)).toEqual(Array(N).fill(202));
    for (const r of responses) {
      const a = (await r.json()) as Accepted;
      expect(a.duplicate).toBe(false);
      first.set(a.requestId, a);
    }
    expect(first.size).toBe(N);
    expect(new Set([...first.values()].map((a) => a.seq)).size).toBe(N);
    expect(await streamCount()).toBe(N);
  });

  it('answers all of them again as duplicates with the original seq', async () => {
    const responses = await Promise.all(bodies.map((b) => post(b)));
    for (const r of responses) {
      expect(r.status).toBe(202);
      const a = (await r.json()) as Accepted;
      expect(a).toEqual({ ...first.get(a.requestId), duplicate: true });
    }
    expect(await streamCount()).toBe(N);
  });

  it('leaves the stream unchanged for malformed bodies', async () => {
    const statuses = await Promise.all([
      post('{"requestId":').then((r) => r.status),
      post('not json at all', 'text/plain').then((r) => r.status),
      post({ ...bodies[0], requestId: crypto.randomUUID(), answers: [] }).then((r) => r.status),
      post({ ...bodies[0], requestId: crypto.randomUUID(), patientId: 'P.*' }).then(
        (r) => r.status,
      ),
      post({}).then((r) => r.status),
      post('x'.repeat(300 * 1024)).then((r) => r.status),
    ]);
    expect(statuses).toEqual([400, 415, 400, 400, 400, 413]);
    expect(await streamCount()).toBe(N);
  });

  it('stops cleanly on SIGTERM', async () => {
    expect(await api.stop('SIGTERM')).toBe(0);
  });
});

describe('SIGTERM under load', () => {
  it('finishes in-flight requests: every 202 is stored, nothing else is', async () => {
    const svc = await ServiceProcess.start('epro-api', { NATS_URL: nats.url });
    const before = await streamCount();
    let firstAccepted: () => void = () => undefined;
    const accepting = new Promise<void>((r) => (firstAccepted = r));
    const inflight = Array.from({ length: 500 }, (_, i) =>
      fetch(`${svc.url}/v1/reports`, {
        method: 'POST',
        headers: { ...as.gateway, 'content-type': 'application/json' },
        body: JSON.stringify(reportBody('TRIAL-TERM', `P${i % 7}`, i)),
      }).then(
        (r) => {
          if (r.status === 202) firstAccepted();
          return r.status;
        },
        () => 0, // refused: the server had stopped accepting
      ),
    );
    // Stop while the burst is being answered: after the first 202, before the last.
    await accepting;
    const exit = svc.stop('SIGTERM');
    const statuses = await Promise.all(inflight);
    expect(await exit).toBe(0);
    const accepted = statuses.filter((s) => s === 202).length;
    console.log(`SIGTERM under load: ${accepted} of 500 accepted before the stop`);
    expect(accepted).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 202 || s === 0)).toBe(true);
    expect(await streamCount()).toBe(before + accepted);
  });
});
