import { as } from '../../support/identity.js';

/** How long a phone waits for an answer by default before it counts the attempt as unanswered. */
const ANSWER_TIMEOUT_MS = 5_000;
/** Wait before resending when the answer had no Retry-After (or none came). */
const RETRY_DELAY_MS = 200;
/** Longest wait between two attempts, whatever Retry-After says: the fault lasts seconds. */
const MAX_RETRY_DELAY_MS = 1_000;

/** What the phones saw: which submissions were accepted, and what it took. */
export interface PhoneStats {
  /** requestIds answered 202. */
  readonly accepted: Set<string>;
  /** Attempts answered 503. */
  unavailable: number;
  /** Attempts with no answer: connection refused or reset, or no answer in time. */
  unanswered: number;
  /** Answers other than 202 and 503, by status: a phone gives such a submission up. */
  readonly refused: Map<number, number>;
  /** Milliseconds from a submission's first attempt to its 202, one per accepted submission. */
  readonly latenciesMs: number[];
}

/** A burst under way: its live figures, and a promise that settles once every phone is done. */
export interface Burst {
  readonly stats: PhoneStats;
  readonly done: Promise<PhoneStats>;
  /** Resolves once at least `n` submissions were accepted. */
  accepted(n: number): Promise<void>;
}

/**
 * Phones submitting `bodies` to `POST /v1/reports` at `url()` (read before each attempt, so a
 * restarted service on another port is found), `concurrency` at a time. A phone resends the
 * same body, same requestId, on 503 or no answer until it gets an answer that is not one of
 * those, as the mobile app does.
 */
export function burst(
  url: () => string,
  bodies: readonly { requestId: string }[],
  concurrency: number,
  /** How long a phone waits for an answer: short, and it resends while the first is in flight. */
  answerTimeoutMs = ANSWER_TIMEOUT_MS,
): Burst {
  const stats: PhoneStats = {
    accepted: new Set(),
    unavailable: 0,
    unanswered: 0,
    refused: new Map(),
    latenciesMs: [],
  };
  let next = 0;
  const submit = async (body: { requestId: string }) => {
    const json = JSON.stringify(body);
    const start = performance.now();
    for (;;) {
      let delay = RETRY_DELAY_MS;
      try {
        const res = await fetch(`${url()}/v1/reports`, {
          method: 'POST',
          headers: { ...as.gateway, 'content-type': 'application/json' },
          body: json,
          signal: AbortSignal.timeout(answerTimeoutMs),
        });
        await res.arrayBuffer();
        if (res.status === 202) {
          stats.accepted.add(body.requestId);
          stats.latenciesMs.push(performance.now() - start);
          return;
        }
        if (res.status !== 503) {
          stats.refused.set(res.status, (stats.refused.get(res.status) ?? 0) + 1);
          return;
        }
        stats.unavailable++;
        const after = Number(res.headers.get('retry-after'));
        if (after > 0) delay = Math.min(after * 1000, MAX_RETRY_DELAY_MS);
      } catch {
        stats.unanswered++;
      }
      await new Promise((r) => setTimeout(r, delay));
    }
  };
  const done = Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < bodies.length) await submit(bodies[next++]!);
    }),
  ).then(() => stats);
  return {
    stats,
    done,
    accepted: async (n) => {
      while (stats.accepted.size < n) {
        // A burst that ended short of n: say so rather than wait forever.
        const ended = await Promise.race([done.then(() => true), sleep(20).then(() => false)]);
        if (ended && stats.accepted.size < n) {
          throw new Error(`the burst ended with ${stats.accepted.size} accepted, not ${n}`);
        }
      }
    },
  };
}

/** p50, p99 and max of the submission latencies, and the retries, for a test's log. */
export function describeBurst(stats: PhoneStats): string {
  const sorted = [...stats.latenciesMs].sort((a, b) => a - b);
  const at = (q: number) =>
    Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
  return (
    `${stats.accepted.size} accepted; retries: ${stats.unavailable} after 503, ` +
    `${stats.unanswered} unanswered; latency ms p50 ${at(0.5)}, p99 ${at(0.99)}, ` +
    `max ${Math.round(sorted.at(-1) ?? 0)}`
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
