import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Holds a loop to `perSecond` iterations on average from its start: `take()` waits until the
 * n-th iteration is due. A loop that falls behind is not allowed to burst to catch up beyond
 * one second's worth.
 */
export class RateLimit {
  private startedAt = performance.now();
  private taken = 0;

  constructor(private readonly perSecond: number) {}

  async take(): Promise<void> {
    const now = performance.now();
    const interval = 1000 / this.perSecond;
    // More than a second behind (a slow destination): only a second's worth may come at once.
    if (now - (this.startedAt + this.taken * interval) > 1000) {
      this.startedAt = now - 1000 - this.taken * interval;
    }
    const due = this.startedAt + this.taken * interval;
    this.taken++;
    // Timers are not finer than a millisecond: only waits that long are worth one.
    if (due - now >= 1) await sleep(due - now);
  }
}
