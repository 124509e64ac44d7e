import { jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Connection } from './connection.js';
import {
  IncompatibleTopologyError,
  NotConnectedError,
  PublishTimeoutError,
  StreamFullError,
  StreamUnavailableError,
  WrongLastSequenceError,
} from './errors.js';
import { newEventId } from '@cohort/contracts';
import {
  contentHash,
  IdempotentPublisher,
  RequestConflictError,
  WINDOW_MARGIN_MS,
} from './idempotent-publisher.js';
import { Publisher } from './publisher.js';
import { provision, REQUEST_LEDGER_BUCKET, topology } from './topology.js';
import { NatsServer } from './testing/nats-server.js';

const enc = new TextEncoder();
let server: NatsServer;
let conn: Connection;
let jsm: JetStreamManager;

beforeAll(async () => {
  server = await NatsServer.start();
  conn = await connect({ servers: server.url, name: 'publishing-test' });
  jsm = await jetstreamManager(conn.nc);
});

afterAll(async () => {
  await conn?.drain();
  await server?.dispose();
});

describe('provision', () => {
  it('creates the topology, then reports it unchanged', async () => {
    const topo = topology({ duplicateWindowMs: 1_000 });
    const first = await provision(conn, jsm, topo);
    expect(first).toEqual([
      { resource: 'stream REPORTS', action: 'created' },
      { resource: 'stream PROJECTS', action: 'created' },
      { resource: 'stream ADVISORIES', action: 'created' },
      { resource: 'stream DEADLETTERS', action: 'created' },
      { resource: 'stream MONITORING', action: 'created' },
      { resource: 'stream REDRIVE', action: 'created' },
      { resource: `bucket ${REQUEST_LEDGER_BUCKET}`, action: 'created' },
      { resource: 'bucket FAILURES', action: 'created' },
      { resource: 'bucket CHECKPOINTS', action: 'created' },
    ]);
    const again = await provision(conn, jsm, topo);
    expect(again.every((a) => a.action === 'unchanged')).toBe(true);
    const info = await jsm.streams.info('REPORTS');
    expect(info.config).toMatchObject({
      storage: 'file',
      retention: 'limits',
      discard: 'new',
      deny_delete: true,
      deny_purge: true,
      duplicate_window: 1_000_000_000,
    });
  });

  it('updates what may change in place', async () => {
    const actions = await provision(conn, jsm, topology({ duplicateWindowMs: 2_000 }));
    expect(actions[0]).toEqual({ resource: 'stream REPORTS', action: 'updated' });
    expect((await jsm.streams.info('REPORTS')).config.duplicate_window).toBe(2_000_000_000);
    await provision(conn, jsm, topology({ duplicateWindowMs: 1_000 }));
  });

  it('refuses an incompatible change with the fields named, changing nothing', async () => {
    const topo = topology();
    topo.streams[0]!.storage = 'memory';
    topo.streams[0]!.deny_delete = false;
    const err = await provision(conn, jsm, topo).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IncompatibleTopologyError);
    expect((err as Error).message).toMatch(/storage is "file", wanted "memory"/);
    expect((err as Error).message).toMatch(/deny_delete is true, wanted false/);
    expect((await jsm.streams.info('REPORTS')).config.storage).toBe('file');
  });

  it('denies deleting or purging the audit stream', async () => {
    const p = new Publisher(conn);
    const ack = await p.publish('reports.T.P', enc.encode('{}'));
    await expect(jsm.streams.deleteMessage('REPORTS', ack.seq)).rejects.toThrow();
    await expect(jsm.streams.purge('REPORTS')).rejects.toThrow();
    expect((await jsm.streams.getMessage('REPORTS', { seq: ack.seq }))?.seq).toBe(ack.seq);
  });
});

describe('Publisher', () => {
  it('resolves with the PubAck and reports a duplicate Nats-Msg-Id', async () => {
    const p = new Publisher(conn);
    const a = await p.publish('reports.T.P', enc.encode('{"n":1}'), { msgId: 'm-1' });
    const b = await p.publish('reports.T.P', enc.encode('{"n":1}'), { msgId: 'm-1' });
    expect(a).toMatchObject({ stream: 'REPORTS', duplicate: false });
    expect(b).toEqual({ ...a, duplicate: true });
  });

  it('keeps thousands in flight and stores each once', async () => {
    const p = new Publisher(conn);
    const before = (await jsm.streams.info('REPORTS')).state.messages;
    const acks = await Promise.all(
      Array.from({ length: 3_000 }, (_, i) =>
        p.publish(`reports.T.B${i % 10}`, enc.encode(`{"i":${i}}`), { msgId: `bulk-${i}` }),
      ),
    );
    expect(new Set(acks.map((a) => a.seq)).size).toBe(3_000);
    expect((await jsm.streams.info('REPORTS')).state.messages).toBe(before + 3_000);
  });

  it('turns an expectation failure into WrongLastSequenceError', async () => {
    const p = new Publisher(conn);
    const a = await p.publish('reports.T.X', enc.encode('{}'));
    await p.publish('reports.T.X', enc.encode('{}'), { expectedLastSubjectSequence: a.seq });
    await expect(
      p.publish('reports.T.X', enc.encode('{}'), { expectedLastSubjectSequence: a.seq }),
    ).rejects.toBeInstanceOf(WrongLastSequenceError);
  });

  it('turns a subject no stream listens on into StreamUnavailableError', async () => {
    await expect(
      new Publisher(conn).publish('nowhere.at.all', enc.encode('{}')),
    ).rejects.toBeInstanceOf(StreamUnavailableError);
  });

  it('turns a missing PubAck into PublishTimeoutError', async () => {
    const silent = conn.nc.subscribe('silent.>'); // a responder that never answers
    const p = new Publisher(conn, { timeoutMs: 300 });
    const t = performance.now();
    await expect(p.publish('silent.x', enc.encode('{}'))).rejects.toBeInstanceOf(
      PublishTimeoutError,
    );
    expect(performance.now() - t).toBeGreaterThanOrEqual(290);
    silent.unsubscribe();
  });

  it('turns a full stream into StreamFullError', async () => {
    await jsm.streams.add({
      name: 'TINY',
      subjects: ['tiny.>'],
      max_msgs: 1,
      discard: 'new',
    });
    const p = new Publisher(conn);
    await p.publish('tiny.a', enc.encode('1'));
    await expect(p.publish('tiny.a', enc.encode('2'))).rejects.toBeInstanceOf(StreamFullError);
  });
});

describe('IdempotentPublisher', () => {
  // A stream of their own, with a window longer than the margin, so that both sides of the
  // window decision are reachable; the clock is injected to stand on either side of it.
  const STREAM = 'IDEMPOTENT';
  const WINDOW_MS = 60_000;

  beforeAll(async () => {
    await jsm.streams.add({
      name: STREAM,
      subjects: ['idem.>'],
      duplicate_window: WINDOW_MS * 1_000_000,
    });
  });

  const build = (body: object) => (eventId: string, recordedAt: string) =>
    enc.encode(JSON.stringify({ id: eventId, recordedAt, ...body }));

  const open = (now?: () => number) =>
    IdempotentPublisher.open(conn, new Publisher(conn), {
      stream: STREAM,
      duplicateWindowMs: WINDOW_MS,
      now,
    });

  /**
   * Counts what is sent to these subjects from now on (core NATS sees every publish, including
   * one the stream then drops as a duplicate). The count is exact after `settled()`: the
   * server answers the flush only after delivering everything published before it.
   */
  async function watch(...subjects: string[]) {
    let n = 0;
    const subs = subjects.map((s) =>
      conn.nc.subscribe(s, {
        callback: () => {
          n++;
        },
      }),
    );
    await conn.nc.flush();
    return {
      async settled() {
        await conn.nc.flush();
        return n;
      },
      stop: () => subs.forEach((s) => s.unsubscribe()),
    };
  }

  /** Publishes to the subject, and the stream's message lookups that start every search. */
  async function observe(subject: string) {
    const publishes = await watch(subject);
    const searches = await watch(
      `$JS.API.STREAM.MSG.GET.${STREAM}`,
      `$JS.API.DIRECT.GET.${STREAM}`,
      `$JS.API.DIRECT.GET.${STREAM}.>`,
    );
    return {
      async counts() {
        return { publishes: await publishes.settled(), searches: await searches.settled() };
      },
      stop() {
        publishes.stop();
        searches.stop();
      },
    };
  }

  const stored = async (subject: string) =>
    (await jsm.streams.info(STREAM, { subjects_filter: subject })).state.subjects?.[subject] ?? 0;

  it('stores once, answers retries with the same event, refuses other content', async () => {
    let offsetMs = 0;
    const ip = await open(() => Date.now() + offsetMs);
    const subject = 'idem.T.I';
    const body = { a: 1, b: [1, 2] };
    const input = { requestId: crypto.randomUUID(), content: body, subject, build: build(body) };
    const seen = await observe(subject);
    const first = await ip.publish(input);
    expect(first.duplicate).toBe(false);
    expect(await seen.counts()).toEqual({ publishes: 1, searches: 0 });

    // Inside the window, the retry republishes and the stream drops the copy.
    const again = await ip.publish({ ...input, content: { a: 1, b: [1, 2] } });
    expect(again).toEqual({ ...first, duplicate: true });
    expect(await seen.counts()).toEqual({ publishes: 2, searches: 0 });

    // Long after the window the ledger still answers, publishing and searching nothing.
    offsetMs = 10 * WINDOW_MS;
    const late = await ip.publish(input);
    expect(late).toEqual({ ...first, duplicate: true });
    expect(await seen.counts()).toEqual({ publishes: 2, searches: 0 });

    const conflict = await ip.publish({ ...input, content: { a: 2 } }).catch((e: unknown) => e);
    expect(conflict).toBeInstanceOf(RequestConflictError);
    expect(await seen.counts()).toEqual({ publishes: 2, searches: 0 });
    seen.stop();
    expect(await stored(subject)).toBe(1);
  });

  it('answers concurrent copies of one request with one stored event', async () => {
    const ip = await open();
    const body = { c: 'same' };
    const input = {
      requestId: crypto.randomUUID(),
      content: body,
      subject: 'idem.T.C',
      build: build(body),
    };
    const results = await Promise.all(Array.from({ length: 20 }, () => ip.publish(input)));
    expect(new Set(results.map((r) => r.seq)).size).toBe(1);
    expect(new Set(results.map((r) => r.eventId)).size).toBe(1);
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    expect(await stored('idem.T.C')).toBe(1);
  });

  /**
   * What a process that crashed after reserving a request leaves: a ledger entry without a
   * sequence. Returns the server's time of the reservation, from which the window is counted.
   */
  async function crashAfterReserve(
    requestId: string,
    content: object,
    subject: string,
    eventId: string,
  ): Promise<number> {
    const kv = await new Kvm(conn.nc).open(REQUEST_LEDGER_BUCKET);
    const reservation = {
      hash: contentHash(content),
      eventId,
      recordedAt: new Date().toISOString(),
      subject,
    };
    await kv.create(requestId, enc.encode(JSON.stringify(reservation)));
    return (await kv.get(requestId))!.created.getTime();
  }

  // The last instant the retry still counts as inside the window, and the first beyond it.
  const lastInside = (reservedAt: number) => reservedAt + WINDOW_MS - WINDOW_MARGIN_MS - 1;
  const firstBeyond = (reservedAt: number) => reservedAt + WINDOW_MS - WINDOW_MARGIN_MS;

  describe.each([
    { side: 'inside', at: lastInside, searches: 0 },
    { side: 'beyond', at: firstBeyond, searches: 1 },
  ])('a crash between reservation and publish, retried $side the window', ({ at, searches }) => {
    it('publishes once, with the reserved event id', async () => {
      const subject = `idem.T.R1-${searches}`;
      const body = { crash: 'before-publish' };
      const requestId = crypto.randomUUID();
      const eventId = newEventId();
      const reservedAt = await crashAfterReserve(requestId, body, subject, eventId);
      const ip = await open(() => at(reservedAt));
      const input = { requestId, content: body, subject, build: build(body) };
      const seen = await observe(subject);
      const r = await ip.publish(input);
      expect(r).toMatchObject({ eventId, duplicate: true });
      // Beyond the window the subject is searched first (and holds nothing of it).
      expect(await seen.counts()).toEqual({ publishes: 1, searches });
      seen.stop();
      const message = await jsm.streams.getMessage(STREAM, { seq: r.seq });
      expect(message?.json<{ id: string }>().id).toBe(eventId);
      expect(await ip.publish(input)).toEqual(r);
      expect(await stored(subject)).toBe(1);
    });
  });

  describe.each([
    { side: 'inside', at: lastInside, expected: { publishes: 1, searches: 0 } },
    // The search reads the subject's last message, then the subject from its start up to the
    // original: the message before it, and the original.
    { side: 'beyond', at: firstBeyond, expected: { publishes: 0, searches: 3 } },
  ])(
    'a crash between publish and ledger update, retried $side the window',
    ({ side, at, expected }) => {
      it(
        side === 'inside'
          ? 'republishes, and the stream drops the copy'
          : 'finds the stored event by searching the subject, republishing nothing',
        async () => {
          const subject = `idem.T.R2-${side}`;
          const body = { crash: 'after-publish' };
          const requestId = crypto.randomUUID();
          const eventId = newEventId();
          const reservedAt = await crashAfterReserve(requestId, body, subject, eventId);
          const p = new Publisher(conn);
          await p.publish(subject, enc.encode('{"other":1}'));
          const original = await p.publish(subject, build(body)(eventId, 'x'), {
            msgId: requestId,
          });
          await p.publish(subject, enc.encode('{"other":2}'));
          const ip = await open(() => at(reservedAt));
          const seen = await observe(subject);
          const r = await ip.publish({ requestId, content: body, subject, build: build(body) });
          expect(r).toEqual({ eventId, stream: STREAM, seq: original.seq, duplicate: true });
          expect(await seen.counts()).toEqual(expected);
          seen.stop();
          expect(await stored(subject)).toBe(3);
        },
      );
    },
  );
});

describe('connection loss', () => {
  it('fails fast while disconnected and recovers without a new connection', async () => {
    const p = new Publisher(conn, { timeoutMs: 1_000 });
    await server.stop();
    await expect.poll(() => conn.isConnected(), { timeout: 5_000 }).toBe(false);
    await expect(p.publish('reports.T.D', enc.encode('{}'))).rejects.toBeInstanceOf(
      NotConnectedError,
    );
    await server.restart();
    await expect.poll(() => conn.isConnected(), { timeout: 10_000 }).toBe(true);
    await expect(p.publish('reports.T.D', enc.encode('{}'))).resolves.toMatchObject({
      stream: 'REPORTS',
    });
  });
});
