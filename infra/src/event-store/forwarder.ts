import { projectSubject, Streams } from '@cohort/contracts';
import { jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import type { Connection } from '../connection.js';
import { WrongLastSequenceError } from '../errors.js';
import type { Logger } from '../logger.js';
import { Publisher } from '../publisher.js';
import { CHECKPOINTS_BUCKET } from '../topology.js';
import type { ForwardSource, SourceEvent } from './forward-source.js';
import { EVENT_TYPE_HEADER, lastOnSubject, VERSION_HEADER } from './subject-version.js';

/**
 * Waits between attempts after a failure of NATS or of the source, the last one repeated:
 * quick for a blip, then no faster than every 5 s while a server is down.
 */
export const DEFAULT_FORWARDER_BACKOFF_MS = [100, 250, 500, 1_000, 2_000, 5_000];
/** The checkpoint key of the project forwarder. */
export const PROJECTS_FORWARDER = 'projects';

export interface ForwarderOptions {
  conn: Connection;
  source: ForwardSource;
  log?: Logger;
  /** The forwarder's checkpoint key in the CHECKPOINTS bucket; one per forwarder. */
  name?: string;
  /** The stream the events go to (`PROJECTS`)… */
  stream?: string;
  /** …on one subject per aggregate (`projects.<projectId>`). */
  subject?: (aggregateId: string) => string;
  backoffMs?: number[];
}

export interface RunningForwarder {
  /** Finishes the event in hand (published and checkpointed), then ends; resolves when done. */
  stop(): Promise<void>;
}

/** The subject already holds a version below the one before this event: one is missing. */
export class ForwardGapError extends Error {
  override readonly name = 'ForwardGapError';
  constructor(
    readonly aggregateId: string,
    readonly subjectVersion: number,
    readonly eventVersion: number,
  ) {
    super(
      `${aggregateId}: the stream holds version ${subjectVersion}, the source gives ${eventVersion}; ` +
        'an event is missing in between',
    );
  }
}

const enc = new TextEncoder();

/**
 * Publishes one event at its aggregate version, once: skipped when the subject already holds
 * that version (forwarded before the checkpoint was written, however long ago: no dedup window
 * needed); published with the subject's last sequence expected when it holds the version before,
 * so no other writer slips in between. The event id is the `Nats-Msg-Id`.
 */
export async function forwardOne(
  jsm: JetStreamManager,
  publisher: Publisher,
  stream: string,
  subject: string,
  e: SourceEvent,
): Promise<'published' | 'skipped'> {
  for (;;) {
    const last = await lastOnSubject(jsm, stream, subject);
    if (last.version >= e.version) return 'skipped';
    if (last.version !== e.version - 1) {
      throw new ForwardGapError(e.aggregateId, last.version, e.version);
    }
    try {
      await publisher.publish(subject, enc.encode(JSON.stringify(e.event)), {
        msgId: e.event.id,
        expectedLastSubjectSequence: last.seq,
        headers: { [VERSION_HEADER]: String(e.version), [EVENT_TYPE_HEADER]: e.event.type },
      });
      return 'published';
    } catch (err) {
      // Someone wrote to the subject since it was read: read it again and decide again.
      if (err instanceof WrongLastSequenceError) continue;
      throw err;
    }
  }
}

async function checkpointOf(kv: KV, name: string): Promise<string | undefined> {
  const entry = await kv.get(name);
  return entry?.operation === 'PUT' && entry.value.length > 0 ? entry.string() : undefined;
}

/** `p`'s value, or undefined once `signal` aborts first. */
function unlessAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise<T | undefined>((resolve, reject) => {
    const onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

/**
 * Forwards the events of a source to JetStream (by default every project event to `PROJECTS`
 * on `projects.<projectId>`), with the headers the JetStream event store writes, so every
 * reader of the stream sees them whichever store the writer uses.
 *
 * It follows the source from the position in its checkpoint (KV bucket CHECKPOINTS), written
 * after each event is published: a crash between the two forwards that event again, and
 * `forwardOne` finds it there and skips it. Any failure (NATS, the source, the checkpoint)
 * is logged and retried with backoff from the checkpoint; nothing is skipped.
 */
export function startForwarder(options: ForwarderOptions): RunningForwarder {
  const { conn, source, log } = options;
  const name = options.name ?? PROJECTS_FORWARDER;
  const stream = options.stream ?? Streams.PROJECTS.name;
  const subject = options.subject ?? projectSubject;
  const backoff = options.backoffMs ?? DEFAULT_FORWARDER_BACKOFF_MS;
  const publisher = new Publisher(conn);
  const stopping = new AbortController();
  let failures = 0;

  async function follow(): Promise<void> {
    const jsm = await jetstreamManager(conn.nc);
    const kv = await new Kvm(conn.nc).open(CHECKPOINTS_BUCKET);
    const from = await checkpointOf(kv, name);
    log?.info({ forwarder: name, from: from ?? 'start' }, 'forwarding');
    // One subscription per attempt, ended with the attempt whatever ends it.
    const attempt = new AbortController();
    const end = () => attempt.abort();
    stopping.signal.addEventListener('abort', end, { once: true });
    const events = source.subscribe(from, attempt.signal)[Symbol.asyncIterator]();
    try {
      for (;;) {
        const next = await unlessAborted(events.next(), stopping.signal);
        if (next === undefined) return; // stopping
        if (next.done) throw new Error('the source ended its subscription');
        const e = next.value;
        const outcome = await forwardOne(jsm, publisher, stream, subject(e.aggregateId), e);
        await kv.put(name, e.position);
        log?.debug({ forwarder: name, id: e.event.id, version: e.version, outcome }, 'forwarded');
        failures = 0;
      }
    } finally {
      end();
      stopping.signal.removeEventListener('abort', end);
      // Not awaited: a source that is waiting for its next event may only end at its own pace.
      events.return?.().catch(() => undefined);
    }
  }

  const running = (async () => {
    while (!stopping.signal.aborted) {
      try {
        await follow();
      } catch (e) {
        if (stopping.signal.aborted) break;
        const wait = backoff[Math.min(failures, backoff.length - 1)] ?? 1_000;
        failures++;
        // A gap does not heal by waiting: someone must look. Anything else usually does.
        log?.[e instanceof ForwardGapError ? 'error' : 'warn'](
          { forwarder: name, err: (e as Error).message, retryInMs: wait },
          'forwarding failed; retrying from the checkpoint',
        );
        await sleep(wait, stopping.signal);
      }
    }
    log?.info({ forwarder: name }, 'forwarder stopped');
  })();

  return {
    async stop() {
      stopping.abort();
      await running;
    },
  };
}
