import { Worker } from 'node:worker_threads';
import { BatchWriter, type BatchMessage, type PackedBatch } from './batch.js';
import type { EventFilter } from './filters.js';
import { REPLAY_PULL_BATCH } from './reader.js';
import type { Sink } from './sink.js';

export interface FormatOptions extends EventFilter {
  format: 'jsonl' | 'csv';
}

/**
 * To the formatting thread: a packed batch (batch.ts), an output buffer it may fill again, or
 * the end of the replay.
 */
export type FormatRequest = { batch: PackedBatch } | { recycle: ArrayBuffer } | { end: true };

/** From the formatting thread, for each batch in order: its lines, how many, and its buffer. */
export interface FormatReply {
  chunk: Uint8Array;
  written: number;
  batch: ArrayBuffer;
}

/** From the formatting thread at the end: the CSV header and width (csv-spill.ts). */
export interface FormatEnd {
  header?: string;
  answerColumns: number;
}

/** Messages packed per batch: the size of one pull. */
const BATCH_MESSAGES = REPLAY_PULL_BATCH;

/** The bytes a batch starts with room for (it grows for larger messages). */
const BATCH_BYTES = 1024 * 1024;

/**
 * Batches waiting on the formatting thread or its output: enough that neither thread waits on
 * the other when one is briefly slower (a pull's round trip, a garbage collection), few enough
 * that memory stays flat (a batch is about a megabyte).
 */
const MAX_IN_FLIGHT = 4;

/**
 * The formatting thread's young generation, in MB: what it allocates dies within a batch, and
 * V8's default lets the young generation grow to tens of MB kept resident for nothing.
 */
const YOUNG_GENERATION_MB = 8;

/** From sources (tests) the thread runs the TypeScript file; from a build, the compiled one. */
const WORKER = new URL(
  import.meta.url.endsWith('.ts') ? './format-worker.ts' : './format-worker.js',
  import.meta.url,
);

/**
 * Formats a replay's messages on a thread of its own (format-worker.ts): parsing, upcasting and
 * writing JSON or CSV is most of what a replay costs, and on a second core it overlaps with
 * reading from NATS. Messages are packed into batches that cross as one buffer; their lines come
 * back in order and go to `out`, each before more than MAX_IN_FLIGHT batches wait, so memory
 * stays flat. Buffers go back and forth instead of being allocated for every batch.
 */
export class Formatter {
  private readonly worker: Worker;
  private readonly batch = new BatchWriter(BATCH_BYTES);
  private inFlight = 0;
  private written = 0;
  private writing: Promise<void> = Promise.resolve();
  private failure: Error | null = null;
  private wake: (() => void) | null = null;
  private ended: ((end: FormatEnd) => void) | null = null;

  constructor(
    options: FormatOptions,
    private readonly out: Sink,
  ) {
    this.worker = new Worker(WORKER, {
      workerData: options,
      name: 'replay-format',
      resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
    });
    this.worker.on('message', (m: FormatReply | FormatEnd) => {
      if ('chunk' in m)
        this.writing = this.writing.then(
          () => this.write(m),
          (e) => this.fail(e),
        );
      else this.ended?.(m);
    });
    this.worker.on('error', (e) => this.fail(e));
    this.worker.on('exit', (code) =>
      this.fail(new Error(`the formatting thread exited (${code})`)),
    );
  }

  private async write({ chunk, written, batch }: FormatReply): Promise<void> {
    this.batch.recycle(batch);
    await this.out.writeBytes(chunk);
    this.post({ recycle: chunk.buffer as ArrayBuffer }, [chunk.buffer as ArrayBuffer]);
    this.written += written;
    this.inFlight--;
    this.wake?.();
  }

  private post(request: FormatRequest, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(request, transfer);
  }

  private fail(e: unknown): void {
    this.failure ??= e instanceof Error ? e : new Error(String(e));
    this.wake?.();
    this.ended?.({ answerColumns: 0 });
  }

  private throwFailure(): void {
    if (this.failure) throw this.failure;
  }

  /**
   * Packs a message; once a batch is full, hands it over and returns a promise while
   * MAX_IN_FLIGHT batches are still being formatted (await it before the next message).
   */
  add(m: BatchMessage): Promise<void> | undefined {
    this.batch.add(m);
    if (this.batch.count < BATCH_MESSAGES && this.batch.size < BATCH_BYTES) return undefined;
    return this.send();
  }

  private async send(): Promise<void> {
    this.throwFailure();
    const batch = this.batch.take();
    this.inFlight++;
    this.post({ batch }, [batch.buffer]);
    while (this.inFlight >= MAX_IN_FLIGHT && !this.failure) {
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    this.throwFailure();
  }

  /** Sends what is packed and waits for every batch to be written; the events kept, the CSV layout. */
  async finish(): Promise<FormatEnd & { written: number }> {
    if (this.batch.count > 0) await this.send();
    const end = new Promise<FormatEnd>((resolve) => (this.ended = resolve));
    this.post({ end: true });
    const result = await end;
    await this.writing;
    this.throwFailure();
    return { ...result, written: this.written };
  }

  /** Stops the thread (a replay that failed or was stopped early leaves none behind). */
  async close(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}
