import { Worker } from 'node:worker_threads';
import type { EventFilter } from './filters.js';
import type { Sink } from './sink.js';

export interface FormatOptions extends EventFilter {
  format: 'jsonl' | 'csv';
}

/** To the formatting thread: a packed batch (batch.ts), or the end of the replay. */
export type FormatRequest = { batch: ArrayBuffer } | { end: true };

/** From the formatting thread, for each batch in order: its lines and how many it kept. */
export interface FormatReply {
  chunk: Uint8Array;
  written: number;
}

/** From the formatting thread at the end: the CSV header and width (csv-spill.ts). */
export interface FormatEnd {
  header?: string;
  answerColumns: number;
}

/**
 * Batches waiting on the formatting thread or its output: enough that neither thread waits on
 * the other when one is briefly slower (a pull's round trip, a garbage collection), few enough
 * that memory stays flat (a batch is about a megabyte).
 */
const MAX_IN_FLIGHT = 4;

/** From sources (tests) the thread runs the TypeScript file; from a build, the compiled one. */
const WORKER = new URL(
  import.meta.url.endsWith('.ts') ? './format-worker.ts' : './format-worker.js',
  import.meta.url,
);

/**
 * Formats a replay's messages on a thread of its own (format-worker.ts): parsing, upcasting and
 * writing JSON or CSV is most of what a replay costs, and on a second core it overlaps with
 * reading from NATS. Batches go in as packed buffers; their lines come back in order and go to
 * `out`, each before more than MAX_IN_FLIGHT batches wait, so memory stays flat.
 */
export class Formatter {
  private readonly worker: Worker;
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
    this.worker = new Worker(WORKER, { workerData: options, name: 'replay-format' });
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

  private async write(reply: FormatReply): Promise<void> {
    this.out.write(reply.chunk);
    await this.out.drained();
    this.written += reply.written;
    this.inFlight--;
    this.wake?.();
  }

  private fail(e: unknown): void {
    this.failure ??= e instanceof Error ? e : new Error(String(e));
    this.wake?.();
    this.ended?.({ answerColumns: 0 });
  }

  private throwFailure(): void {
    if (this.failure) throw this.failure;
  }

  /** Hands a packed batch over; waits while MAX_IN_FLIGHT batches are still being formatted. */
  async format(batch: ArrayBuffer): Promise<void> {
    this.throwFailure();
    this.inFlight++;
    this.worker.postMessage({ batch } satisfies FormatRequest, [batch]);
    while (this.inFlight >= MAX_IN_FLIGHT && !this.failure) {
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    this.throwFailure();
  }

  /** Waits for every batch to be written; the events kept, and the CSV header and width. */
  async finish(): Promise<FormatEnd & { written: number }> {
    const end = new Promise<FormatEnd>((resolve) => (this.ended = resolve));
    this.worker.postMessage({ end: true } satisfies FormatRequest);
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
