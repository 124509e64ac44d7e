import { z } from 'zod';
import { Actor, EventId, UtcInstant } from './ids.js';
import { newEventId } from './event-id.js';

/**
 * The fields every event carries around its `data`. JSON-only: instants are ISO strings, so any
 * language can read a stored event.
 */
export const EnvelopeFields = {
  /** UUID v7, unique per event, assigned by the writer. */
  id: EventId,
  /** Schema version of `data` for this `type`. */
  version: z.number().int().positive(),
  /** When it happened, as the client says (e.g. when the patient completed the questionnaire). */
  occurredAt: UtcInstant,
  /** When the platform recorded it (server clock, UTC). */
  recordedAt: UtcInstant,
  /** The service that wrote the event. */
  source: z.string().min(1).max(64),
  /** Who caused it. */
  actor: Actor,
  /** Why: required for corrections and status changes, optional elsewhere. */
  reason: z.string().min(1).max(1000).optional(),
  /** Ties together everything caused by one outside request. */
  correlationId: z.string().min(1).max(128),
  /** The event or request that directly caused this one. */
  causationId: z.string().min(1).max(128),
};

/** Builds the envelope schema for one event type at one version. */
export function eventSchema<const T extends string, const V extends number, D extends z.ZodType>(
  type: T,
  version: V,
  data: D,
) {
  return z.object({
    ...EnvelopeFields,
    type: z.literal(type),
    version: z.literal(version),
    data,
  });
}

/** The envelope with untyped data: what every stored event has in common. */
export const AnyEnvelope = z.object({
  ...EnvelopeFields,
  type: z.string().min(1).max(64),
  data: z.unknown(),
});
export type AnyEnvelope = z.infer<typeof AnyEnvelope>;

/** Who decided an event, when by the server's clock, why, and what it belongs to. */
export interface Decision {
  /** When it is recorded (server clock, UTC). */
  at: string;
  /** When it happened, where the command says so; `at` otherwise. */
  occurredAt?: string;
  source: string;
  actor: Actor;
  reason?: string;
  correlationId: string;
  /** The request or event that caused it; the correlation when it has no nearer cause. */
  causationId?: string;
}

/**
 * The envelope of a version 1 event a command decides: everything but `type` and `data`. A
 * `reason` given as a string is typed as one, for events that require it.
 */
export function decidedEnvelope<R extends string | undefined = undefined>(
  d: Decision & { reason?: R },
) {
  return {
    id: newEventId(),
    version: 1 as const,
    occurredAt: d.occurredAt ?? d.at,
    recordedAt: d.at,
    source: d.source,
    actor: d.actor,
    reason: d.reason as R,
    correlationId: d.correlationId,
    causationId: d.causationId ?? d.correlationId,
  };
}
