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
 * Text gathered before one write: large enough that writing costs little per line, small enough
 * that memory stays flat (a write waits for the destination to drain).
 */
const CHUNK_CHARS = 64 * 1024;

/**
 * Where replayed lines go: a file (created or truncated) or stdout. Writes are gathered into
 * chunks and wait whenever the destination is behind, so a slow disk or pipe slows the replay
 * instead of filling memory.
 */
export class Sink {
  private pending: string[] = [];
  private pendingChars = 0;
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

  async write(text: string): Promise<void> {
    this.pending.push(text);
    this.pendingChars += text.length;
    if (this.pendingChars >= CHUNK_CHARS) await this.flush();
  }

  private async flush(): Promise<void> {
    this.throwFailure();
    if (this.pending.length === 0) return;
    const chunk = this.pending.join('');
    this.pending = [];
    this.pendingChars = 0;
    if (!this.out.write(chunk)) {
      await Promise.race([once(this.out, 'drain'), once(this.out, 'error')]);
    }
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
