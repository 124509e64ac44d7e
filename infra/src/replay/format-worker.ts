// The formatting thread of a replay (formatter.ts starts it): turns batches of stored messages
// into JSONL lines or CSV rows while the main thread reads the next batches from NATS.
import { parentPort, workerData } from 'node:worker_threads';
import { readBatch, type PackedBatch } from './batch.js';
import { Chunk } from './chunk.js';
import { CsvLayout } from './csv.js';
import { writeSpilledRow } from './csv-spill.js';
import { eventFilter } from './filters.js';
import { writeJsonl } from './jsonl.js';
import { ReplayedMessage } from './record.js';
import type { FormatOptions, FormatReply, FormatRequest } from './formatter.js';

const options = workerData as FormatOptions;
const keep = eventFilter(options);
const layout = options.format === 'csv' ? new CsvLayout() : null;
const port = parentPort!;

/** What a batch's lines start with room for: a thousand lines of about a kilobyte. */
const OUTPUT_BYTES = 2 * 1024 * 1024;
const out = new Chunk(OUTPUT_BYTES);

function format(batch: PackedBatch): FormatReply {
  let written = 0;
  for (const m of readBatch(batch)) {
    const r = new ReplayedMessage(m.seq, m.subject, m.nanos, m.data);
    if (!keep(r)) continue;
    written++;
    if (layout) writeSpilledRow(out, layout.row(r), layout.answerColumns);
    else writeJsonl(out, r);
  }
  return { chunk: out.take(), written, batch: batch.buffer };
}

port.on('message', (request: FormatRequest) => {
  if ('batch' in request) {
    const reply = format(request.batch);
    port.postMessage(reply, [reply.chunk.buffer as ArrayBuffer, reply.batch]);
  } else if ('recycle' in request) {
    out.recycle(request.recycle);
  } else {
    port.postMessage({ header: layout?.header(), answerColumns: layout?.answerColumns ?? 0 });
  }
});
