import type { NatsConnection } from '@nats-io/nats-core';
import { CsvLayout } from './csv.js';
import { eventFilter, type EventFilter } from './filters.js';
import { writeJsonl } from './jsonl.js';
import type { Progress } from './progress.js';
import type { ReplayRange } from './range.js';
import { RateLimit } from './rate.js';
import { StreamReader } from './reader.js';
import { replayRecord, type ReplayRecord } from './record.js';
import type { Sink } from './sink.js';

export const REPLAY_FORMATS = ['jsonl', 'csv'] as const;
export type ReplayFormat = (typeof REPLAY_FORMATS)[number];

export interface ReplayOptions extends EventFilter {
  stream: string;
  range: ReplayRange;
  /** Subject filter, applied by the server. */
  subject?: string;
  format: ReplayFormat;
  /** At most this many messages a second read from the stream (each pass). */
  ratePerSecond?: number;
  inactiveThresholdMs?: number;
}

export interface ReplayCounts {
  /** Messages the stream delivered in range (on the last pass). */
  read: number;
  /** Lines written (rows for CSV, the header aside). */
  written: number;
}

/** One pass: every record in range that the filters keep, to `each`. */
async function pass(
  reader: StreamReader,
  options: ReplayOptions,
  progress: Progress | null,
  each: (r: ReplayRecord) => Promise<void> | undefined,
): Promise<ReplayCounts> {
  const keep = eventFilter(options);
  const limit = options.ratePerSecond ? new RateLimit(options.ratePerSecond) : null;
  let read = 0;
  let written = 0;
  for await (const m of reader.messages()) {
    if (limit) await limit.take();
    read++;
    progress?.read(m.pending);
    const r = replayRecord(m);
    if (!keep(r)) continue;
    written++;
    // Most records only queue: awaiting only what waits saves a promise a message.
    const wrote = each(r);
    if (wrote) await wrote;
  }
  return { read, written };
}

/**
 * Replays `options.stream` to `sink`: JSONL in one pass; CSV in two over the same fixed range,
 * the first finding the answer columns (memory grows with the questionnaire items, never with the
 * rows), the second writing. Opens the stream first: StreamNotFound before anything is written.
 */
export async function replay(
  conn: NatsConnection,
  options: ReplayOptions,
  openSink: () => Promise<Sink>,
  progress: Progress | null = null,
): Promise<ReplayCounts> {
  const reader = await StreamReader.open(conn, options);
  const sink = await openSink();
  let counts: ReplayCounts;
  try {
    if (options.format === 'jsonl') {
      counts = await pass(reader, options, progress, (r) => writeJsonl(sink, r));
    } else {
      const layout = new CsvLayout();
      progress?.restart(`${options.stream} (columns)`);
      await pass(reader, options, progress, (r) => {
        layout.observe(r);
        return undefined;
      });
      progress?.restart(options.stream);
      await sink.write(layout.header());
      counts = await pass(reader, options, progress, (r) => sink.write(layout.row(r)));
    }
  } finally {
    progress?.end();
    await sink.close();
  }
  return counts;
}
