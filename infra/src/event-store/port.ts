import type { AnyEnvelope } from '@cohort/contracts';

/** An event as stored in one aggregate's stream, with its position there (1-based). */
export interface StoredEvent {
  version: number;
  event: AnyEnvelope;
}

/**
 * Where event-sourced aggregates live. One stream per aggregate; `version` is the number of
 * events in it (0: it has none).
 *
 * Contract:
 * - `read` returns every event of the aggregate in append order, and the current version.
 * - `append` stores the events only if the aggregate is at `expectedVersion`; otherwise it
 *   throws ConcurrencyError and stores nothing. Two appends at the same version: exactly one
 *   succeeds. It resolves with the new version once the events are durable.
 */
export interface EventStore {
  read(aggregateId: string): Promise<{ version: number; events: StoredEvent[] }>;
  append(
    aggregateId: string,
    events: AnyEnvelope[],
    expectedVersion: number,
  ): Promise<{ version: number }>;
  close(): Promise<void>;
}

/** The aggregate was not at the expected version: someone else wrote first. */
export class ConcurrencyError extends Error {
  override readonly name = 'ConcurrencyError';
  constructor(
    readonly aggregateId: string,
    readonly expectedVersion: number,
    readonly currentVersion: number,
  ) {
    super(`${aggregateId} is at version ${currentVersion}, not ${expectedVersion}`);
  }
}
