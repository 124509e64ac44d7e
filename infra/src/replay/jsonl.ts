import type { Sink } from './sink.js';
import { STORED, type ReplayRecord } from './record.js';

/**
 * Writes the record as one JSON Lines line, its keys in the order of ReplayRecord. An event still
 * as stored goes out as its stored bytes (they parsed as JSON and hold no line break), which
 * saves serialising and encoding it again: most of a replay's time otherwise.
 */
export function writeJsonl(sink: Sink, r: ReplayRecord): Promise<void> | undefined {
  const stored = r[STORED];
  if (stored === undefined || r.invalid !== undefined) return sink.write(`${JSON.stringify(r)}\n`);
  const head = `{"seq":${r.seq},"subject":${JSON.stringify(r.subject)},"time":"${r.time}","event":`;
  const waits: Promise<void>[] = [];
  for (const part of [head, stored, '}\n']) {
    const wait = sink.write(part);
    if (wait) waits.push(wait);
  }
  return waits.length > 0 ? Promise.all(waits).then(() => undefined) : undefined;
}
