import type { NatsConnection } from '@nats-io/nats-core';
import { CsvSpill } from './csv-spill.js';
import type { EventFilter } from './filters.js';
import { Formatter } from './formatter.js';
import type { Progress } from './progress.js';
import type { ReplayRange } from './range.js';
import { RateLimit } from './rate.js';
import { StreamReader } from './reader.js';
import type { Sink } from './sink.js';

export const REPLAY_FORMATS = ['jsonl', 'csv'] as const;
export type ReplayFormat = (typeof REPLAY_FORMATS)[number];

export interface ReplayOptions extends EventFilter {
  stream: string;
  range: ReplayRange;
  /** Subject filter, applied by the server. */
  subject?: string;
  format: ReplayFormat;
  /** At most this many messages a second read from the stream. */
  ratePerSecond?: number;
  inactiveThresholdMs?: number;
}

export interface ReplayCounts {
  /** Messages the stream delivered in range. */
  read: number;
  /** Lines written (rows for CSV, the header aside). */
  written: number;
}

/** Reads the range and hands every message to `formatter`; the messages read. */
async function readInto(
  reader: StreamReader,
  formatter: Formatter,
  options: ReplayOptions,
  progress: Progress | null,
): Promise<number> {
  const limit = options.ratePerSecond ? new RateLimit(options.ratePerSecond) : null;
  let read = 0;
  await reader.read((m) => {
    read++;
    progress?.read(m.pending);
    const next = formatter.add(m);
    return limit ? Promise.all([next, limit.take()]).then(() => undefined) : next;
  });
  return read;
}

/**
 * Replays `options.stream` to `sink` in one pass over the range, read on this thread and
 * formatted on another (formatter.ts). CSV rows wait in a spill file until every answer column
 * is known (csv-spill.ts). Opens the stream first: StreamNotFound before anything is written.
 */
export async function replay(
  conn: NatsConnection,
  options: ReplayOptions,
  openSink: () => Promise<Sink>,
  progress: Progress | null = null,
): Promise<ReplayCounts> {
  const reader = await StreamReader.open(conn, options);
  const sink = await openSink();
  const spill = options.format === 'csv' ? await CsvSpill.open() : null;
  const { format, types, trial } = options;
  const formatter = new Formatter({ format, types, trial }, spill?.sink ?? sink);
  try {
    const read = await readInto(reader, formatter, options, progress);
    const end = await formatter.finish();
    if (spill) await spill.copyTo(sink, end.header!, end.answerColumns);
    return { read, written: end.written };
  } finally {
    progress?.end();
    await formatter.close();
    await spill?.dispose();
    await sink.close();
  }
}
