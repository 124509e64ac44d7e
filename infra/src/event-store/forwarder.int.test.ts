import { newEventId, type AnyEnvelope } from '@cohort/contracts';
import { jetstreamManager, StorageType } from '@nats-io/jetstream';
import type { JetStreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Connection } from '../connection.js';
import { Publisher } from '../publisher.js';
import { readSubject } from '../read-subject.js';
import { NatsServer } from '../testing/nats-server.js';
import { CHECKPOINTS_BUCKET, provision, topology } from '../topology.js';
import { EventStoreDbEventStore } from './eventstoredb-event-store.js';
import { EventStoreDbSource } from './eventstoredb-source.js';
import type { ForwardSource, SourceEvent } from './forward-source.js';
import { startForwarder, type RunningForwarder } from './forwarder.js';
import { JetStreamEventStore } from './jetstream-event-store.js';

/**
 * An ordered log in memory as the source: positions are 1, 2, 3…; `subscribe(from)` yields
 * what comes after `from`, then waits for more.
 */
class MemoryLog implements ForwardSource {
  readonly events: SourceEvent[] = [];
  /** The `from` of every subscription, in order. */
  readonly subscribedFrom: (string | undefined)[] = [];
  open = 0;
  readonly #versions = new Map<string, number>();
  #wake = new Set<() => void>();
  #failure: Error | undefined;

  append(aggregateId: string, n = 1): SourceEvent[] {
    const added: SourceEvent[] = [];
    for (let i = 0; i < n; i++) {
      const version = (this.#versions.get(aggregateId) ?? 0) + 1;
      this.#versions.set(aggregateId, version);
      const e = { position: String(this.events.length + 1), aggregateId, version, event: event() };
      this.events.push(e);
      added.push(e);
    }
    this.#notify();
    return added;
  }

  /** The subscriptions open now fail with `e`. */
  fail(e: Error): void {
    this.#failure = e;
    this.#notify();
  }

  #notify() {
    for (const w of this.#wake) w();
    this.#wake.clear();
  }

  async *subscribe(from: string | undefined, signal: AbortSignal): AsyncIterable<SourceEvent> {
    this.subscribedFrom.push(from);
    this.open++;
    try {
      let i = from === undefined ? 0 : Number(from);
      while (!signal.aborted) {
        if (this.#failure) {
          const e = this.#failure;
          this.#failure = undefined;
          throw e;
        }
        const next = this.events[i];
        if (next) {
          i++;
          yield next;
          continue;
        }
        await new Promise<void>((resolve) => {
          this.#wake.add(resolve);
          signal.addEventListener('abort', () => resolve(), { once: true });
        });
      }
    } finally {
      this.open--;
    }
  }
}

function event(): AnyEnvelope {
  const now = new Date().toISOString();
  return {
    id: newEventId(),
    type: 'TestHappened',
    version: 1,
    occurredAt: now,
    recordedAt: now,
    source: 'test',
    actor: { id: 'tester', role: 'system' },
    correlationId: 'c',
    causationId: 'c',
    data: {},
  };
}

let server: NatsServer;
let conn: Connection;
let jsm: JetStreamManager;
let checkpoints: KV;

beforeAll(async () => {
  server = await NatsServer.start();
  conn = await connect({ servers: server.url, name: 'forwarder-test' });
  jsm = await jetstreamManager(conn.nc);
  await provision(conn, jsm, topology());
  checkpoints = await new Kvm(conn.nc).open(CHECKPOINTS_BUCKET);
});

afterAll(async () => {
  await conn?.drain();
  await server?.dispose();
});

/** A stream and a forwarder name of the test's own; `duplicateWindowMs` as the stream's window. */
async function target(duplicateWindowMs = 120_000) {
  const tag = crypto.randomUUID().slice(0, 8);
  const stream = `FWD_${tag}`;
  const prefix = `fwd${tag}`;
  await jsm.streams.add({
    name: stream,
    subjects: [`${prefix}.>`],
    storage: StorageType.File,
    duplicate_window: duplicateWindowMs * 1_000_000,
  });
  const name = `test-${tag}`;
  const subject = (id: string) => `${prefix}.${id}`;
  const warnings: string[] = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
  return {
    stream,
    name,
    subject,
    warnings,
    start: (source: ForwardSource): RunningForwarder =>
      startForwarder({ conn, source, log, name, stream, subject, backoffMs: [50, 200] }),
    async count(): Promise<number> {
      return (await jsm.streams.info(stream)).state.messages;
    },
    async checkpoint(): Promise<string | undefined> {
      const e = await checkpoints.get(name);
      return e?.operation === 'PUT' ? e.string() : undefined;
    },
    /** Every message of the stream, in order: subject, version header, msg id, event id. */
    async messages() {
      const all = await readSubject(jsm, stream, `${prefix}.>`, await this.count());
      return all.map((m) => ({
        subject: m.subject,
        version: m.header.get('Cohort-Aggregate-Version'),
        type: m.header.get('Cohort-Event-Type'),
        msgId: m.header.get('Nats-Msg-Id'),
        id: m.json<AnyEnvelope>().id,
      }));
    },
  };
}

type Target = Awaited<ReturnType<typeof target>>;

/** What the stream must hold after forwarding `events` once each, in the source's order. */
function forwardedOnce(t: Target, events: SourceEvent[]) {
  return events.map((e) => ({
    subject: t.subject(e.aggregateId),
    version: String(e.version),
    type: e.event.type,
    msgId: e.event.id,
    id: e.event.id,
  }));
}

describe('forwarder', () => {
  it('forwards every event once, in order, with the event id as Nats-Msg-Id and the store headers', async () => {
    const t = await target();
    const log = new MemoryLog();
    log.append('a', 2);
    log.append('b');
    log.append('a');
    log.append('b');
    const f = t.start(log);
    try {
      await expect.poll(() => t.checkpoint()).toBe('5');
      expect(await t.messages()).toEqual(forwardedOnce(t, log.events));
      // The JetStream event store reads them as its own.
      const store = await JetStreamEventStore.open(conn, t.stream, t.subject);
      const a = await store.read('a');
      expect(a.version).toBe(3);
      expect(a.events.map((e) => e.event)).toEqual(
        log.events.filter((e) => e.aggregateId === 'a').map((e) => e.event),
      );
      // It follows: an event appended now is forwarded too.
      log.append('c');
      await expect.poll(() => t.checkpoint()).toBe('6');
      expect(await t.messages()).toEqual(forwardedOnce(t, log.events));
    } finally {
      await f.stop();
    }
    expect(log.open).toBe(0);
  });

  it('starts again from its checkpoint', async () => {
    const t = await target();
    const log = new MemoryLog();
    log.append('a', 3);
    const first = t.start(log);
    await expect.poll(() => t.checkpoint()).toBe('3');
    await first.stop();
    expect(log.open).toBe(0);
    log.append('a');
    log.append('b');
    const second = t.start(log);
    try {
      await expect.poll(() => t.checkpoint()).toBe('5');
      expect(log.subscribedFrom).toEqual([undefined, '3']);
      expect(await t.messages()).toEqual(forwardedOnce(t, log.events));
    } finally {
      await second.stop();
    }
  });

  for (const [window, windowMs] of [
    ['within', 120_000],
    ['beyond', 500],
  ] as const) {
    it(`a crash after publishing, before the checkpoint, forwards nothing twice (${window} the dedup window)`, async () => {
      const t = await target(windowMs);
      const log = new MemoryLog();
      log.append('a', 3);
      log.append('b');
      const f = t.start(log);
      await expect.poll(() => t.checkpoint()).toBe('4');
      await f.stop();
      // As after a crash that published events 2 to 4 but wrote only the first checkpoint.
      await checkpoints.put(t.name, '1');
      if (windowMs < 120_000) {
        // Wait out the window: the same Nats-Msg-Id is stored again once it has passed.
        const probe = new Publisher(conn);
        const send = () =>
          probe.publish(t.subject('probe'), new TextEncoder().encode('{}'), {
            msgId: `probe-${t.name}`,
          });
        await send();
        await expect.poll(async () => (await send()).duplicate, { interval: 100 }).toBe(false);
      }
      log.append('b');
      const again = t.start(log);
      try {
        await expect.poll(() => t.checkpoint()).toBe('5');
        const forwarded = (await t.messages()).filter((m) => m.subject !== t.subject('probe'));
        expect(forwarded).toEqual(forwardedOnce(t, log.events));
        expect(log.subscribedFrom).toEqual([undefined, '1']);
      } finally {
        await again.stop();
      }
    });
  }

  it('NATS down, then back: retries and resumes, forwarding each event once', async () => {
    const t = await target();
    const log = new MemoryLog();
    log.append('a', 2);
    const f = t.start(log);
    try {
      await expect.poll(() => t.checkpoint()).toBe('2');
      await server.stop();
      try {
        log.append('a');
        log.append('b', 2);
        await expect
          .poll(() => t.warnings.filter((w) => w.includes('forwarding failed')).length, {
            timeout: 20_000,
          })
          .toBeGreaterThan(0);
      } finally {
        await server.restart();
      }
      await expect.poll(() => t.checkpoint(), { timeout: 30_000 }).toBe('5');
      expect(await t.messages()).toEqual(forwardedOnce(t, log.events));
    } finally {
      await f.stop();
    }
  });

  it('a failing source: retries from the checkpoint', async () => {
    const t = await target();
    const log = new MemoryLog();
    log.append('a', 2);
    const f = t.start(log);
    try {
      await expect.poll(() => t.checkpoint()).toBe('2');
      log.fail(new Error('source connection lost'));
      await expect.poll(() => log.subscribedFrom).toEqual([undefined, '2']);
      log.append('a');
      await expect.poll(() => t.checkpoint()).toBe('3');
      expect(await t.messages()).toEqual(forwardedOnce(t, log.events));
      expect(t.warnings.join('\n')).toContain('source connection lost');
    } finally {
      await f.stop();
    }
  });
});

const esdb = process.env.EVENTSTORE_CONNECTION_STRING;
describe.skipIf(!esdb)(
  'forwarder from EventStoreDB (not run: set EVENTSTORE_CONNECTION_STRING to a running EventStoreDB)',
  () => {
    it('forwards what EventStoreDbEventStore appended, each once, and follows new appends', async () => {
      const t = await target();
      const prefix = `fwd${Date.now()}`;
      const store = EventStoreDbEventStore.open(esdb!, prefix);
      const source = EventStoreDbSource.open(esdb!, prefix);
      const [a1, a2, b1, a3] = [event(), event(), event(), event()];
      await store.append('a', [a1, a2], 0);
      await store.append('b', [b1], 0);
      const f = t.start(source);
      try {
        await expect.poll(() => t.count(), { timeout: 20_000 }).toBe(3);
        await store.append('a', [a3], 2);
        await expect.poll(() => t.count(), { timeout: 20_000 }).toBe(4);
        const messages = await t.messages();
        expect(messages.map((m) => [m.subject, m.version, m.id])).toEqual([
          [t.subject('a'), '1', a1.id],
          [t.subject('a'), '2', a2.id],
          [t.subject('b'), '1', b1.id],
          [t.subject('a'), '3', a3.id],
        ]);
        expect(await t.checkpoint()).toMatch(/^\d+\/\d+$/);
      } finally {
        await f.stop();
        await store.close();
        await source.close();
      }
    });
  },
);
