/**
 * Text (as UTF-8) and bytes gathered into one buffer, to be written or sent at once: a replay
 * writes a few large chunks instead of a line, or three parts of one, at a time.
 *
 * Buffers are reused: a fresh megabyte costs more in page faults than filling it costs, so a
 * taken chunk's buffer comes back through `recycle` once it has been written. Each buffer is its
 * own allocation (never Node's shared pool), so a taken chunk can be transferred to another
 * thread.
 */
export class Chunk {
  private bytes: Buffer;
  private used = 0;
  private readonly spare: ArrayBuffer[] = [];

  constructor(private readonly capacity: number) {
    this.bytes = Buffer.allocUnsafeSlow(capacity);
  }

  get size(): number {
    return this.used;
  }

  add(part: string | Uint8Array): void {
    // A string takes at most three bytes a character in UTF-8.
    const most = typeof part === 'string' ? part.length * 3 : part.length;
    if (this.used + most > this.bytes.length) this.grow(this.used + most);
    if (typeof part === 'string') {
      this.used += this.bytes.write(part, this.used, 'utf8');
    } else {
      this.bytes.set(part, this.used);
      this.used += part.length;
    }
  }

  /** Room for a part larger than the capacity: twice what is needed, for the parts after it. */
  private grow(size: number): void {
    const bigger = Buffer.allocUnsafeSlow(2 * size);
    this.bytes.copy(bigger, 0, 0, this.used);
    this.bytes = bigger;
  }

  /**
   * What was added, as a view of a buffer the caller now owns (to write, keep or transfer);
   * empties this, which goes on in a recycled buffer or a new one.
   */
  take(): Uint8Array {
    const full = this.bytes.subarray(0, this.used);
    const reused = this.spare.pop();
    this.bytes = reused ? Buffer.from(reused) : Buffer.allocUnsafeSlow(this.capacity);
    this.used = 0;
    return full;
  }

  /** Gives back the buffer of a taken chunk once nothing reads it any more. */
  recycle(buffer: ArrayBufferLike): void {
    if (buffer.byteLength >= this.capacity && this.spare.length < MAX_SPARE) {
      this.spare.push(buffer as ArrayBuffer);
    }
  }
}

/** Buffers kept for reuse: those in flight at once, and no more. */
const MAX_SPARE = 4;
