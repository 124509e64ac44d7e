import type { AnyEnvelope } from '@cohort/contracts';

/** One event of a source, with where it is in the source and in its aggregate. */
export interface SourceEvent {
  /** Opaque to the forwarder: stored as the checkpoint and given back to `subscribe`. */
  position: string;
  aggregateId: string;
  /** The event's version in its aggregate: 1 for the first. */
  version: number;
  event: AnyEnvelope;
}

/**
 * Where a forwarder reads events from (an event store other than JetStream).
 *
 * Contract: `subscribe(from, signal)` yields every event after position `from` (from the very
 * first when undefined) in the source's order, in which each aggregate's events come in version
 * order; then the events appended later, as they come, until `signal` aborts, when it ends. A
 * failure of the source is thrown from the iteration; the forwarder then subscribes again from
 * its checkpoint.
 */
export interface ForwardSource {
  subscribe(from: string | undefined, signal: AbortSignal): AsyncIterable<SourceEvent>;
}
