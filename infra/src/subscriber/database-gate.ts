import type { Logger } from '../logger.js';
import { errorText } from './failures.js';

/** Delays between probes of a database out of reach: a restart is noticed within seconds, unhammered. */
export const PROBE_BACKOFF_MS = [100, 250, 500, 1_000, 2_000, 5_000];

/**
 * Whether batches may go to the database. It closes when a batch fails because the database
 * cannot be reached; `probe` then runs with growing delays until it answers, and the gate opens
 * again. While it is closed the subscriber fetches nothing, so messages wait in the stream
 * instead of being delivered, again and again, toward max deliver.
 */
export class DatabaseGate {
  #reason: string | undefined;
  #opened: Promise<void> = Promise.resolve();
  #open: () => void = () => undefined;
  #stopped = false;
  #wake: (() => void) | undefined;

  constructor(
    private readonly probe: () => Promise<unknown>,
    private readonly log: Logger,
    private readonly context: Record<string, unknown>,
    private readonly backoffMs: number[] = PROBE_BACKOFF_MS,
  ) {}

  get available(): boolean {
    return this.#reason === undefined;
  }

  /** Why the gate is closed: the error that closed it. */
  get reason(): string | undefined {
    return this.#reason;
  }

  /** Marks the database unavailable (once, until it answers again) and starts probing it. */
  close(error: string): void {
    if (this.#reason !== undefined || this.#stopped) return;
    this.#reason = error;
    this.#opened = new Promise((r) => (this.#open = r));
    this.log.warn({ ...this.context, error }, 'database unavailable; pausing until it answers');
    void this.#probeUntilAnswered();
  }

  /** Resolves once the gate is open, or stopped. */
  whenOpen(): Promise<void> {
    return this.#opened;
  }

  /** Stops probing and releases whoever waits. */
  stop(): void {
    this.#stopped = true;
    this.#wake?.();
  }

  async #probeUntilAnswered(): Promise<void> {
    for (let attempt = 0; !this.#stopped; attempt++) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, this.backoffMs[Math.min(attempt, this.backoffMs.length - 1)]);
        this.#wake = () => {
          clearTimeout(t);
          r();
        };
      });
      if (this.#stopped) break;
      try {
        await this.probe();
        this.log.info({ ...this.context, attempts: attempt + 1 }, 'database available again');
        break;
      } catch (e) {
        this.log.debug({ ...this.context, err: errorText(e) }, 'database still unavailable');
      }
    }
    this.#wake = undefined;
    this.#reason = undefined;
    this.#open();
  }
}
