import type { Chunk } from './chunk.js';
import type { ReplayedMessage } from './record.js';

/** What JSON.stringify would escape in a string: a subject without it is quoted as it is. */
// eslint-disable-next-line no-control-regex -- control characters are what JSON escapes
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u2028\u2029\ud800-\udfff]/;

/**
 * Writes the message as one JSON Lines line, its keys in the order of ReplayRecord. An event
 * still as stored goes out as its stored bytes, which saves parsing, serialising and encoding it
 * again: most of a replay's time otherwise.
 */
export function writeJsonl(out: Chunk, r: ReplayedMessage): void {
  const event = r.stored ?? (r.invalid === undefined ? JSON.stringify(r.event) : undefined);
  if (event === undefined) {
    out.add(`${JSON.stringify(r)}\n`);
    return;
  }
  const subject = NEEDS_ESCAPE.test(r.subject) ? JSON.stringify(r.subject) : `"${r.subject}"`;
  out.add(`{"seq":${r.seq},"subject":${subject},"time":"${r.time}","event":`);
  out.add(event);
  out.add('}\n');
}
