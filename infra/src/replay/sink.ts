import { once } from 'node:events';
import { open } from 'node:fs/promises';
import type { Writable } from 'node:stream';

/** The `--out` file cannot be created or written. */
export class UnwritableOutput extends Error {
  override readonly name = 'UnwritableOutput';
  constructor(
    readonly path: string,
    cause: Error,
  ) {
    super(`cannot write ${path}: ${cause.message}`, { cause });
  }
}

/**
 * What is gathered before one write (characters and bytes): large enough that writing costs
 * little per line, small enough that memory stays flat (a write waits for the destination).
 */
const CHUNK_SIZE = 64 * 1024;

/**
 * Where replayed lines go: a file (created or truncated) or stdout. Writes are gathered into
 * chunks and wait whenever the destination is behind, so a slow disk or pipe slows the replay
 * instead of filling memory.
 */
export class Sink {
  private pending: (string | Uint8Array)[] = [];
  private pendingSize = 0;
  private failure: Error | null = null;

  private constructor(
    private readonly out: Writable,
    private readonly ownsOut: boolean,
  ) {
    out.on('error', (e) => (this.failure ??= e));
  }

  /** `path` truncated or created, or stdout without one; UnwritableOutput when it cannot be. */
  static async open(path: string | undefined): Promise<Sink> {
    if (path === undefined) return new Sink(process.stdout, false);
    try {
      const file = await open(path, 'w');
      return new Sink(file.createWriteStream(), true);
    } catch (e) {
      throw new UnwritableOutput(path, e as Error);
    }
  }

  /**
   * Queues text or bytes (UTF-8). Returns a promise only when the queue was handed to the
   * destination: await it, it settles once the destination has room again.
   */
  write(part: string | Uint8Array): Promise<void> | undefined {
    this.pending.push(part);
    this.pendingSize += part.length;
    return this.pendingSize >= CHUNK_SIZE ? this.flush() : undefined;
  }

  private async flush(): Promise<void> {
    this.throwFailure();
    if (this.pending.length === 0) return;
    const parts = this.pending;
    const chunk = parts.every((p) => typeof p === 'string')
      ? parts.join('')
      : Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
    this.pending = [];
    this.pendingSize = 0;
    // once() rejects should the destination fail while it is awaited.
    if (!this.out.write(chunk)) await once(this.out, 'drain');
    this.throwFailure();
  }

  /** The destination's error (a full disk, a closed pipe), once it has had one. */
  private throwFailure(): void {
    if (this.failure) throw this.failure;
  }

  /** Writes what is left; a file is closed, stdout stays open. */
  async close(): Promise<void> {
    await this.flush();
    if (!this.ownsOut) return;
    this.out.end();
    await once(this.out, 'close');
    this.throwFailure();
  }
}
