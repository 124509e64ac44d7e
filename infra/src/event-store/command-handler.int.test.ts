import { newEventId, projectSubject, Streams } from '@cohort/contracts';
import type { EventParser } from '@cohort/contracts';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Connection } from '../connection.js';
import { NatsServer } from '../testing/nats-server.js';
import { provision, topology } from '../topology.js';
import {
  commandHandler,
  DecidedEventInvalidError,
  StoredEventInvalidError,
} from './command-handler.js';
import type { Decider } from './decider.js';
import { JetStreamEventStore } from './jetstream-event-store.js';
import { ConcurrencyError, type EventStore } from './port.js';

/** Counted v2 carries the running total; v1 carried only the step, upcast by adding `total: -1`. */
interface Counted {
  id: string;
  type: 'Counted';
  version: 2;
  occurredAt: string;
  recordedAt: string;
  source: string;
  actor: { id: string; role: 'system' };
  correlationId: string;
  causationId: string;
  data: { step: number; total: number };
}
type Command = { type: 'Count'; step: number };

function counted(step: number, total: number, version: 1 | 2 = 2) {
  const now = new Date().toISOString();
  return {
    id: newEventId(),
    type: 'Counted',
    version,
    occurredAt: now,
    recordedAt: now,
    source: 'test',
    actor: { id: 'tester', role: 'system' as const },
    correlationId: 'c',
    causationId: 'c',
    data: version === 2 ? { step, total } : { step },
  };
}

/** A stream parser with one upcaster, like contracts' eventParser. */
const parse: EventParser<Counted> = (input) => {
  const e = input as { type?: unknown; version?: number; data?: Record<string, unknown> };
  if (e.type !== 'Counted' || typeof e.data?.step !== 'number') {
    return { ok: false, error: { kind: 'unknown-type', message: 'not Counted', issues: [] } };
  }
  const data = e.version === 1 ? { ...e.data, total: -1 } : e.data;
  if (typeof data.total !== 'number' || (data.step as number) < 0) {
    return { ok: false, error: { kind: 'data', message: 'invalid Counted v2', issues: [] } };
  }
  return { ok: true, event: { ...(input as Counted), version: 2, data: data as Counted['data'] } };
};

/** Counts up by `step`, up to 100; a negative step decides an event no reader can read. */
const counter: Decider<Command, { total: number; seen: number[] }, Counted> = {
  initialState: { total: 0, seen: [] },
  decide: (c, s) => {
    if (c.step === 0) return [];
    if (s.total + c.step > 100) throw new RangeError('over 100');
    return [counted(c.step, s.total + c.step) as Counted];
  },
  evolve: (s, e) => ({ total: s.total + e.data.step, seen: [...s.seen, e.data.total] }),
};

let server: NatsServer;
let conn: Connection;
let store: EventStore;
const id = () => `c-${crypto.randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  server = await NatsServer.start();
  conn = await connect({ servers: server.url, name: 'command-handler-test' });
  await provision(conn, await jetstreamManager(conn.nc), topology());
  store = await JetStreamEventStore.open(conn, Streams.PROJECTS.name, projectSubject);
});
afterAll(async () => {
  await conn?.drain();
  await server?.dispose();
});

describe('commandHandler', () => {
  it('loads through the stream parser: every stored event parsed and upcast, then folded', async () => {
    const a = id();
    await store.append(a, [counted(2, 0, 1), counted(3, 5)], 0);
    const loaded = await commandHandler(store, counter, parse).load(a);
    expect(loaded.version).toBe(2);
    expect(loaded.events.map((e) => [e.version, e.event.version, e.event.data])).toEqual([
      [1, 2, { step: 2, total: -1 }],
      [2, 2, { step: 3, total: 5 }],
    ]);
    expect(loaded.state).toEqual({ total: 5, seen: [-1, 5] });
  });

  it('refuses to fold a stored event that does not parse', async () => {
    const a = id();
    await store.append(a, [counted(2, 2), { ...counted(1, 3), type: 'Other' }], 0);
    const err = await commandHandler(store, counter, parse)
      .load(a)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoredEventInvalidError);
    expect(err).toMatchObject({ aggregateId: a, version: 2, error: { kind: 'unknown-type' } });
  });

  it('decides, validates, appends at the loaded version and returns state and version', async () => {
    const a = id();
    const h = commandHandler(store, counter, parse);
    const first = await h.handle(a, { type: 'Count', step: 4 });
    expect(first).toMatchObject({ version: 1, state: { total: 4 } });
    expect(first.appended).toMatchObject([{ type: 'Counted', data: { step: 4, total: 4 } }]);
    const second = await h.handle(a, { type: 'Count', step: 6 }, { expectedVersion: 1 });
    expect(second).toMatchObject({ version: 2, state: { total: 10, seen: [4, 10] } });
    expect(await h.handle(a, { type: 'Count', step: 0 })).toMatchObject({
      version: 2,
      appended: [],
    });
    expect((await store.read(a)).events.map((e) => e.event.id)).toEqual(
      [...first.appended, ...second.appended].map((e) => e.id),
    );
  });

  it('a stale expected version is a ConcurrencyError and stores nothing', async () => {
    const a = id();
    const h = commandHandler(store, counter, parse);
    await h.handle(a, { type: 'Count', step: 1 });
    const err = await h
      .handle(a, { type: 'Count', step: 1 }, { expectedVersion: 0 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConcurrencyError);
    expect(err).toMatchObject({ expectedVersion: 0, currentVersion: 1 });
    expect((await store.read(a)).version).toBe(1);
  });

  it('a decided event the stream cannot read is refused before it is stored', async () => {
    const a = id();
    const h = commandHandler(store, counter, parse);
    await expect(h.handle(a, { type: 'Count', step: -1 })).rejects.toBeInstanceOf(
      DecidedEventInvalidError,
    );
    expect((await store.read(a)).version).toBe(0);
  });

  it('two writers that loaded the same version: one appends, the other is a ConcurrencyError', async () => {
    const a = id();
    await commandHandler(store, counter, parse).handle(a, { type: 'Count', step: 1 });
    // Both reads finish before either append starts, so both decide on version 1.
    let reads = 0;
    let bothRead: () => void = () => undefined;
    const barrier = new Promise<void>((r) => (bothRead = r));
    const racing: EventStore = {
      read: async (x) => {
        const r = await store.read(x);
        if (++reads === 2) bothRead();
        await barrier;
        return r;
      },
      append: (x, events, v) => store.append(x, events, v),
      close: () => Promise.resolve(),
    };
    const h = commandHandler(racing, counter, parse);
    const results = await Promise.allSettled([
      h.handle(a, { type: 'Count', step: 2 }),
      h.handle(a, { type: 'Count', step: 3 }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const lost = results.find((r) => r.status === 'rejected');
    expect(lost?.reason).toBeInstanceOf(ConcurrencyError);
    const after = await commandHandler(store, counter, parse).load(a);
    expect(after.version).toBe(2);
    // The winner's total is the one stored: nothing was written over.
    const won = results.find((r) => r.status === 'fulfilled');
    expect(after.state.total).toBe(won?.status === 'fulfilled' ? won.value.state.total : NaN);
  });
});
