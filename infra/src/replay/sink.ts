import { once } from 'node:events';
import { open } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { Chunk } from './chunk.js';

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
 * What is gathered before one write: large enough that writing costs little per line, small
 * enough that memory stays flat (a write waits for the destination).
 */
const CHUNK_SIZE = 256 * 1024;

/**
 * Where replayed lines go: a file (created or truncated) or stdout. Lines are gathered into
 * chunks and each chunk waits until the destination has taken the one before, so a slow disk or
 * pipe slows the replay instead of filling memory.
 */
export class Sink {
  private readonly chunk = new Chunk(CHUNK_SIZE);
  private failure: Error | null = null;
  private closed = false;

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

  /** Adds text or bytes to the chunk; `drained()` hands a full chunk on. */
  write(part: string | Uint8Array): void {
    this.chunk.add(part);
  }

  /**
   * Undefined while the chunk has room; once it is full, a promise that settles when the chunk
   * has been handed to the destination and it has room again. Await it between lines.
   */
  drained(): Promise<void> | undefined {
    return this.chunk.size >= CHUNK_SIZE ? this.flush() : undefined;
  }

  /**
   * Writes `bytes` as they are, after what the chunk holds, without copying them into it;
   * settles once the destination has written them, so that their buffer can be used again.
   */
  async writeBytes(bytes: Uint8Array): Promise<void> {
    await this.flush();
    await this.send(bytes);
  }

  private async flush(): Promise<void> {
    this.throwFailure();
    if (this.chunk.size === 0) return;
    const full = this.chunk.take();
    await this.send(full);
    this.chunk.recycle(full.buffer);
  }

  /** Hands `bytes` to the destination; settles once it has written them. */
  private async send(bytes: Uint8Array): Promise<void> {
    // A write's callback comes once the bytes are written, or with the destination's error.
    await new Promise<void>((resolve, reject) =>
      this.out.write(bytes, (e) => (e ? reject(e) : resolve())),
    );
    this.throwFailure();
  }

  /** The destination's error (a full disk, a closed pipe), once it has had one. */
  private throwFailure(): void {
    if (this.failure) throw this.failure;
  }

  /** Writes what is left; a file is closed, stdout stays open. Once: later calls do nothing. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flush();
    if (!this.ownsOut) return;
    this.out.end();
    await once(this.out, 'close');
    this.throwFailure();
  }
}
