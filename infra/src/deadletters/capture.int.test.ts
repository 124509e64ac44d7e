import { deadLetterSubject, parseDeadLetterEvent, Streams } from '@cohort/contracts';
import {
  AckPolicy,
  DiscardPolicy,
  jetstream,
  jetstreamManager,
  StorageType,
} from '@nats-io/jetstream';
import type { JetStreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Connection } from '../connection.js';
import { commandHandler } from '../event-store/command-handler.js';
import { JetStreamEventStore } from '../event-store/jetstream-event-store.js';
import { Publisher } from '../publisher.js';
import { NatsServer } from '../testing/nats-server.js';
import { FAILURES_BUCKET, provision, topology } from '../topology.js';
import { AdvisoryCapture, originalMessage, type Advisory } from './capture.js';
import { deadLetterDecider, DeadLetterConflictError, GONE_ERROR, GONE_SUBJECT } from './decider.js';
import { CAPTURE_CONSUMER, DeadLetterDesk } from './desk.js';

const enc = new TextEncoder();
const operator = { id: 'nurse.jones', role: 'monitor' as const };

let server: NatsServer;
let conn: Connection;
let jsm: JetStreamManager;
let publisher: Publisher;

beforeAll(async () => {
  server = await NatsServer.start();
  conn = await connect({ servers: server.url, name: 'capture-test' });
  jsm = await jetstreamManager(conn.nc);
  await provision(conn, jsm, topology());
  publisher = new Publisher(conn);
});

afterAll(async () => {
  await conn?.drain();
  await server?.dispose();
});

/**
 * A stream of one message (max_msgs 1, discard old: each message pushes out the one before)
 * and a consumer on it that terminates what it is given: as a subscriber does with a message
 * it can never apply.
 */
async function shortLived() {
  const name = `SHORT_${crypto.randomUUID().slice(0, 8)}`;
  const subject = `${name.toLowerCase()}.msg`;
  const consumer = `${name.toLowerCase()}-test`;
  await jsm.streams.add({
    name,
    subjects: [`${name.toLowerCase()}.>`],
    max_msgs: 1,
    discard: DiscardPolicy.Old,
    storage: StorageType.File,
  });
  await jsm.consumers.add(name, { durable_name: consumer, ack_policy: AckPolicy.Explicit });
  const c = await jetstream(conn.nc).consumers.get(name, consumer);
  let terminated = 0;
  return {
    stream: name,
    consumer,
    subject,
    /** Publishes `body` and has the consumer terminate it; resolves with its sequence. */
    async fail(body: string): Promise<number> {
      const ack = await publisher.publish(subject, enc.encode(body));
      const m = await c.next({ expires: 5_000 });
      if (!m) throw new Error(`${body} was not delivered`);
      m.term();
      terminated++;
      await expect
        .poll(async () => {
          const info = await jsm.streams.info(Streams.ADVISORIES.name, {
            subjects_filter: `$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.${name}.>`,
          });
          return Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
        })
        .toBe(terminated);
      return ack.seq;
    },
  };
}

describe('capture of a dead letter whose message has left its stream', () => {
  it('records it as gone, and captures the dead letters behind it', async () => {
    const desk = await DeadLetterDesk.open(conn);
    await desk.captureAll(); // what other tests left, so that the count below is this test's
    const s = await shortLived();
    const first = await s.fail('A');
    const second = await s.fail('B'); // pushes A out of the stream
    expect(await desk.captureAll()).toBe(2);
    const [gone, kept] = await desk.list({ consumer: s.consumer });
    expect(gone).toMatchObject({
      stream: s.stream,
      seq: first,
      cause: 'terminated',
      subject: GONE_SUBJECT,
      payload: '',
      envelope: null,
      lastError: GONE_ERROR,
      status: 'open',
    });
    expect(kept).toMatchObject({ stream: s.stream, seq: second, subject: s.subject });
    expect(Buffer.from(kept!.payload, 'base64').toString()).toBe('B');
    // Nothing to send back; it can still be discarded.
    await expect(desk.redrive(gone!.id, { actor: operator, reason: 'retry' })).rejects.toThrow(
      DeadLetterConflictError,
    );
    expect(await desk.discard(gone!.id, { actor: operator, reason: 'lost' })).toMatchObject({
      status: 'discarded',
    });
  });

  it('the background capture does not stall on it', async () => {
    const s = await shortLived();
    await s.fail('C');
    const last = await s.fail('D'); // pushes C out before anything captures it
    const desk = await DeadLetterDesk.open(conn);
    desk.startCapture();
    try {
      await expect
        .poll(async () => (await desk.list({ consumer: s.consumer })).map((d) => d.subject), {
          timeout: 15_000,
        })
        .toEqual([GONE_SUBJECT, s.subject]);
      expect((await desk.list({ consumer: s.consumer }))[1]).toMatchObject({ seq: last });
    } finally {
      await desk.stop();
    }
  });
});

describe('a transient error while reading the original', () => {
  it('only "no message found" means gone; with the server stopped it is an error, and the capture succeeds once the server is back', async () => {
    const s = await shortLived();
    const pushedOut = await s.fail('E');
    const seq = await s.fail('F');
    // A real "no message found" from the server: gone.
    expect(await originalMessage(jsm, s.stream, pushedOut)).toBeNull();
    expect(await originalMessage(jsm, s.stream, seq)).toMatchObject({ subject: s.subject });

    const advisorySeq = (await jsm.streams.getMessage(Streams.ADVISORIES.name, {
      last_by_subj: `$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.${s.stream}.${s.consumer}`,
    }))!.seq;
    const advisory = (await jsm.streams.getMessage(Streams.ADVISORIES.name, {
      seq: advisorySeq,
    }))!.json<Advisory>();
    expect(advisory.stream_seq).toBe(seq);
    const handler = commandHandler(
      await JetStreamEventStore.open(conn, Streams.DEADLETTERS.name, deadLetterSubject),
      deadLetterDecider,
      parseDeadLetterEvent,
    );
    const capture = new AdvisoryCapture(
      await jetstream(conn.nc).consumers.get(Streams.ADVISORIES.name, CAPTURE_CONSUMER),
      jsm,
      await new Kvm(conn.nc).open(FAILURES_BUCKET),
      handler,
    );

    await server.stop();
    try {
      await expect(originalMessage(jsm, s.stream, seq)).rejects.toThrow();
      await expect(capture.capture(advisorySeq, advisory)).rejects.toThrow();
    } finally {
      await server.restart();
    }
    await expect
      .poll(() => capture.capture(advisorySeq, advisory).catch(() => 'not yet'), {
        timeout: 15_000,
      })
      .toBe(true);
    const { state, version } = await handler.load(`dl-${advisorySeq}`);
    expect(version).toBe(1);
    expect(state).toMatchObject({ stream: s.stream, seq, subject: s.subject, lastError: null });
    expect(Buffer.from(state!.payload, 'base64').toString()).toBe('F');
  });
});
