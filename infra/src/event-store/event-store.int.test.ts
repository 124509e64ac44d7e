import { newEventId, projectSubject, type AnyEnvelope } from '@cohort/contracts';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Connection } from '../connection.js';
import { NatsServer } from '../testing/nats-server.js';
import { Publisher } from '../publisher.js';
import { provision, topology } from '../topology.js';
import { EventStoreDbEventStore } from './eventstoredb-event-store.js';
import { JetStreamEventStore } from './jetstream-event-store.js';
import { ConcurrencyError, type EventStore } from './port.js';

const enc = new TextEncoder();

function event(n: number): AnyEnvelope {
  const now = new Date().toISOString();
  return {
    id: newEventId(),
    type: 'TestHappened',
    version: 1,
    occurredAt: now,
    recordedAt: now,
    source: 'test',
    actor: { id: 'tester', role: 'system' },
    reason: `step ${n}`,
    correlationId: 'c',
    causationId: 'c',
    data: { n },
  };
}

/** The contract every EventStore adapter must pass. */
function eventStoreContract(open: () => Promise<EventStore>) {
  let store: EventStore;
  const id = () => `agg-${crypto.randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    store = await open();
  });
  afterAll(() => store?.close());

  it('reads an aggregate that has no events as version 0', async () => {
    expect(await store.read(id())).toEqual({ version: 0, events: [] });
  });

  it('appends at the expected version and reads the events back in order', async () => {
    const a = id();
    const [e1, e2, e3] = [event(1), event(2), event(3)];
    expect(await store.append(a, [e1], 0)).toEqual({ version: 1 });
    expect(await store.append(a, [e2, e3], 1)).toEqual({ version: 3 });
    const r = await store.read(a);
    expect(r.version).toBe(3);
    expect(r.events.map((e) => e.version)).toEqual([1, 2, 3]);
    expect(r.events.map((e) => e.event)).toEqual([e1, e2, e3]);
  });

  it('refuses a stale append with the current version, storing nothing', async () => {
    const a = id();
    await store.append(a, [event(1)], 0);
    const err = await store.append(a, [event(2)], 0).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConcurrencyError);
    expect(err).toMatchObject({ expectedVersion: 0, currentVersion: 1 });
    await expect(store.append(a, [event(2)], 5)).rejects.toBeInstanceOf(ConcurrencyError);
    expect((await store.read(a)).version).toBe(1);
  });

  it('lets exactly one of two concurrent appends at the same version win', async () => {
    const a = id();
    await store.append(a, [event(1)], 0);
    const results = await Promise.allSettled([
      store.append(a, [event(2)], 1),
      store.append(a, [event(3)], 1),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected');
    expect(rejected?.reason).toBeInstanceOf(ConcurrencyError);
    expect((await store.read(a)).version).toBe(2);
  });

  it('keeps aggregates apart', async () => {
    const [a, b] = [id(), id()];
    await store.append(a, [event(1)], 0);
    await store.append(b, [event(1)], 0);
    await store.append(b, [event(2)], 1);
    expect((await store.read(a)).version).toBe(1);
    expect((await store.read(b)).version).toBe(2);
  });
}

describe('EventStore contract: JetStream adapter', () => {
  let server: NatsServer;
  let conn: Connection;
  beforeAll(async () => {
    server = await NatsServer.start();
    conn = await connect({ servers: server.url, name: 'event-store-test' });
    await provision(conn, await jetstreamManager(conn.nc), topology());
  });
  afterAll(async () => {
    await conn?.drain();
    await server?.dispose();
  });
  eventStoreContract(() => JetStreamEventStore.open(conn, 'PROJECTS', projectSubject));

  it('reads and appends to a subject whose messages carry no version header (earlier builds)', async () => {
    const a = `legacy-${crypto.randomUUID().slice(0, 8)}`;
    const [e1, e2, e3] = [event(1), event(2), event(3)];
    // As earlier builds wrote: no Cohort-Aggregate-Version header.
    const publisher = new Publisher(conn);
    let seq = 0;
    for (const e of [e1, e2]) {
      const ack = await publisher.publish(projectSubject(a), enc.encode(JSON.stringify(e)), {
        expectedLastSubjectSequence: seq,
        headers: { 'Cohort-Event-Type': e.type },
      });
      seq = ack.seq;
    }
    const store = await JetStreamEventStore.open(conn, 'PROJECTS', projectSubject);
    const before = await store.read(a);
    expect(before.version).toBe(2);
    expect(before.events.map((e) => [e.version, e.event])).toEqual([
      [1, e1],
      [2, e2],
    ]);
    await expect(store.append(a, [e3], 1)).rejects.toMatchObject({ currentVersion: 2 });
    expect(await store.append(a, [e3], 2)).toEqual({ version: 3 });
    const after = await store.read(a);
    expect(after.version).toBe(3);
    expect(after.events.map((e) => e.version)).toEqual([1, 2, 3]);
    const jsm = await jetstreamManager(conn.nc);
    const last = await jsm.streams.getMessage('PROJECTS', { last_by_subj: projectSubject(a) });
    expect(last?.header.get('Cohort-Aggregate-Version')).toBe('3');
    await expect(store.append(a, [event(4)], 2)).rejects.toMatchObject({ currentVersion: 3 });
  });
});

const esdb = process.env.EVENTSTORE_CONNECTION_STRING;
describe.skipIf(!esdb)(
  'EventStore contract: EventStoreDB adapter (not run: set EVENTSTORE_CONNECTION_STRING to a running EventStoreDB)',
  () => {
    eventStoreContract(() =>
      Promise.resolve(EventStoreDbEventStore.open(esdb!, `test${Date.now()}`)),
    );
  },
);
