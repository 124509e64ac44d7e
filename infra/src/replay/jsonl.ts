import type { ReplayRecord } from './record.js';

/** One JSON Lines line: the record on one line, newline-terminated. */
export function jsonlLine(r: ReplayRecord): string {
  return `${JSON.stringify(r)}\n`;
}
