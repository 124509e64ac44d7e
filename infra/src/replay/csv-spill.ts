import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Chunk } from './chunk.js';
import { Sink } from './sink.js';

/** Before each spilled row: its length in bytes and its answer columns (two 32-bit integers). */
const ROW_PREFIX_BYTES = 8;

const prefix = new Uint8Array(ROW_PREFIX_BYTES);
const prefixView = new DataView(prefix.buffer);

/** Adds one CSV row (no line break) to `out` as the spill file holds it. */
export function writeSpilledRow(out: Chunk, row: string, answerColumns: number): void {
  prefixView.setUint32(0, Buffer.byteLength(row));
  prefixView.setUint32(4, answerColumns);
  out.add(prefix);
  out.add(row);
}

/**
 * Where a CSV replay's rows wait until every answer column is known: a file in the temporary
 * directory (TMPDIR), as large as the CSV, removed at the end. Only then can the header be
 * written, and after it each row, with an empty cell for every column that appeared after it.
 * Reading the stream once and the disk twice costs less than reading the stream twice.
 */
export class CsvSpill {
  private constructor(
    private readonly dir: string,
    readonly sink: Sink,
  ) {}

  static async open(): Promise<CsvSpill> {
    const dir = await mkdtemp(join(tmpdir(), 'cohort-replay-'));
    return new CsvSpill(dir, await Sink.open(join(dir, 'rows')));
  }

  /** `header`, then every spilled row padded to `answerColumns`, each with its line break. */
  async copyTo(out: Sink, header: string, answerColumns: number): Promise<void> {
    await this.sink.close();
    out.write(header);
    let rest: Buffer = Buffer.alloc(0);
    for await (const read of createReadStream(join(this.dir, 'rows'))) {
      const bytes: Buffer =
        rest.length > 0 ? Buffer.concat([rest, read as Buffer]) : (read as Buffer);
      let at = 0;
      while (at + ROW_PREFIX_BYTES <= bytes.length) {
        const length = bytes.readUInt32BE(at);
        const end = at + ROW_PREFIX_BYTES + length;
        if (end > bytes.length) break;
        out.write(bytes.subarray(at + ROW_PREFIX_BYTES, end));
        out.write(`${','.repeat(answerColumns - bytes.readUInt32BE(at + 4))}\n`);
        at = end;
        const wait = out.drained();
        if (wait) await wait;
      }
      rest = bytes.subarray(at);
    }
  }

  async dispose(): Promise<void> {
    await this.sink.close().catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }
}
