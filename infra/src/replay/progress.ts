/** How often the progress line is redrawn: often enough to look alive, rarely enough to cost nothing. */
const REDRAW_MS = 250;

/**
 * One line on a terminal, redrawn in place: messages read, the rate since the start and the time
 * left at that rate (from what the consumer says is still pending). Only for a TTY: a pipe or a
 * file gets nothing.
 */
export class Progress {
  private startedAt = performance.now();
  private drawnAt = 0;
  private count = 0;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly label: string,
  ) {}

  /** A Progress on stderr when it is a terminal, else null. */
  static onStderr(label: string): Progress | null {
    return process.stderr.isTTY ? new Progress(process.stderr, label) : null;
  }

  /** A new pass: the count and the rate start over under `label`. */
  restart(label: string): void {
    this.end();
    Object.assign(this, { label, startedAt: performance.now(), drawnAt: 0, count: 0 });
  }

  read(pending: number): void {
    this.count++;
    const now = performance.now();
    if (now - this.drawnAt < REDRAW_MS) return;
    this.drawnAt = now;
    const rate = this.count / Math.max((now - this.startedAt) / 1000, 0.001);
    const eta = rate > 0 ? Math.ceil(pending / rate) : 0;
    const left = `${Math.floor(eta / 60)}:${String(eta % 60).padStart(2, '0')}`;
    this.out.write(
      `\r${this.label}: ${this.count.toLocaleString('en')} read, ` +
        `${Math.round(rate).toLocaleString('en')}/s, ${pending.toLocaleString('en')} to go, ` +
        `ETA ${left}\x1b[K`,
    );
  }

  /** Leaves the last line drawn as it is, and the cursor under it. */
  end(): void {
    if (this.drawnAt > 0) this.out.write('\n');
    this.drawnAt = 0;
  }
}
