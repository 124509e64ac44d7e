import {
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JsMsg,
  type OrderedConsumerOptions,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { isStreamNotFound, StreamNotFound } from './errors.js';
import type { ReplayRange } from './range.js';
import { deliveredNanos, formatStreamTime } from './stream-time.js';

/**
 * How long the server keeps a replay's consumer once nobody pulls from it. A replay that is
 * killed cannot delete its consumer (nobody may delete one); the server does, this long after.
 */
export const REPLAY_INACTIVE_THRESHOLD_MS = 5_000;

/**
 * Messages asked for per pull: enough that the round trip between pulls costs little, few
 * enough that what waits in the client stays small.
 */
export const REPLAY_PULL_BATCH = 1_000;

/**
 * How long one pull waits on the server. The server counts a consumer inactive only once no
 * pull waits on it, so a killed replay's consumer goes at most this long plus the inactive
 * threshold after; a pull ends sooner, when its batch is full or the range is read.
 */
export const REPLAY_PULL_EXPIRES_MS = 5_000;

/** One stored message, as a replay delivers it. */
export interface StreamMessage {
  seq: number;
  subject: string;
  /** The stream's timestamp: nanoseconds since the epoch, in decimal digits. */
  nanos: string;
  data: Uint8Array;
  /** Messages after this one the consumer still has to deliver (its filter's, to the stream's end). */
  pending: number;
}

export interface ReaderOptions {
  stream: string;
  range: ReplayRange;
  /** A subject filter the server applies (wildcards allowed). */
  subject?: string;
  inactiveThresholdMs?: number;
}

/**
 * Reads one stream in order between fixed bounds, each pass through an ephemeral, ordered,
 * unacknowledged consumer: nothing is acked, no durable is created, and a consumer left behind
 * by a killed process goes after REPLAY_INACTIVE_THRESHOLD_MS. The end is fixed when the reader
 * opens (the stream's last sequence then, or an earlier bound), so every pass reads the same
 * messages and a replay ends while the stream grows.
 *
 * Should the client miss heartbeats and recreate its consumer, nats.js gives the new one its own
 * five-minute inactive threshold; only the first one has ours.
 */
export class StreamReader {
  private constructor(
    private readonly js: JetStreamClient,
    private readonly options: ReaderOptions,
    /** The last sequence a pass may deliver; 0 when the stream was empty. */
    readonly lastSeq: number,
  ) {}

  /** Checks the stream exists (StreamNotFound otherwise) and fixes the end. */
  static async open(conn: NatsConnection, options: ReaderOptions): Promise<StreamReader> {
    const jsm = await jetstreamManager(conn);
    let last: number;
    try {
      last = (await jsm.streams.info(options.stream)).state.last_seq;
    } catch (e) {
      if (isStreamNotFound(e)) throw new StreamNotFound(options.stream);
      throw e;
    }
    const { end } = options.range;
    const lastSeq = end.to === 'seq' ? Math.min(end.seq, last) : last;
    return new StreamReader(jetstream(conn), options, lastSeq);
  }

  /** The first sequence a pass may deliver. */
  private get firstSeq(): number {
    const { start } = this.options.range;
    return start.from === 'seq' ? start.seq : 1;
  }

  private consumerOptions(): Partial<OrderedConsumerOptions> {
    const { start } = this.options.range;
    return {
      name_prefix: `cohort_replay_${crypto.randomUUID().replaceAll('-', '')}`,
      filter_subjects: this.options.subject,
      inactive_threshold: this.options.inactiveThresholdMs ?? REPLAY_INACTIVE_THRESHOLD_MS,
      ...(start.from === 'time'
        ? { opt_start_time: formatStreamTime(start.nanos) }
        : { opt_start_seq: this.firstSeq }),
    };
  }

  /**
   * One pass over the range, in stream order: `each` is called for every message, and a promise
   * it returns is awaited before the next. A callback, not an async iterator: at a hundred
   * thousand messages a second, a promise less per message counts.
   */
  async read(each: (m: StreamMessage) => Promise<void> | undefined): Promise<void> {
    if (this.lastSeq === 0 || this.firstSeq > this.lastSeq) return;
    const { start, end } = this.options.range;
    const byTime = start.from === 'time' || end.to === 'time';
    const consumer = await this.js.consumers.get(this.options.stream, this.consumerOptions());
    if ((await consumer.info(true)).num_pending === 0) return;
    // Batch after batch, each asked for once the last is processed: what waits in the client
    // is one batch at most however slow the destination (consume() would keep pulling).
    for (let more = true; more;) {
      const batch = await consumer.fetch({
        max_messages: REPLAY_PULL_BATCH,
        expires: REPLAY_PULL_EXPIRES_MS,
      });
      more = false;
      for await (const m of batch) {
        const nanos = timestampOf(m);
        // Compared as numbers only where a bound is a time.
        const at = byTime ? BigInt(nanos) : 0n;
        if (m.seq > this.lastSeq || (end.to === 'time' && at > end.nanos)) return;
        const pending = m.info.pending;
        // The server starts at the first message at or after the time; this keeps the bound
        // exact should it start a message early.
        if (start.from !== 'time' || at >= start.nanos) {
          const wait = each({ seq: m.seq, subject: m.subject, nanos, data: m.data, pending });
          if (wait) await wait;
        }
        if (pending === 0 || m.seq >= this.lastSeq) return;
        // A batch that delivered something is followed by another; one that expired empty
        // means the stream no longer holds the rest of the range (limits removed it).
        more = true;
      }
    }
  }
}

/**
 * A delivered message's timestamp in decimal nanoseconds, read from its acknowledgement subject:
 * nats.js's messages carry that subject as `reply` (the JsMsg interface leaves it out), and
 * reading it there spares the bigint `timestampNanos` builds. `timestampNanos` where it is not.
 */
function timestampOf(m: JsMsg): string {
  return deliveredNanos((m as { reply?: string }).reply) ?? m.timestampNanos.toString();
}
