import { HTTPException } from 'hono/http-exception';
import { Forbidden } from '../auth/policy.js';
import { PublishError } from '../errors.js';
import { DeadLetterConflictError, DeadLetterNotFoundError } from '../deadletters/decider.js';
import { ConcurrencyError } from '../event-store/port.js';
import { RequestConflictError } from '../idempotent-publisher.js';
import { isDatabaseUnavailable } from '../store/database-errors.js';
import { conflict, HttpError, notFound, unavailable } from './errors.js';

/** A service's own mapping of its domain errors to answers; undefined for the ones it does not know. */
export type ErrorMapper = (e: unknown) => HttpError | undefined;

/**
 * The one mapping from errors to answers, for every service:
 * - an HttpError is answered as it is, a policy refusal is 403; then the service's own mapper;
 * - a dependency that is down (NATS or the database) is 503 with `Retry-After`;
 * - a stale write is 409 with the current version; a reused requestId for other content, 409;
 * - the dead-letter desk's: 404 for an unknown dead letter, 409 for a change its status forbids;
 * - what Hono itself refuses (415, 413, malformed JSON) keeps its status in the common shape;
 * - anything else is a 500, logged by the caller, telling nothing of the internals.
 */
export function toHttpError(e: unknown, mapError?: ErrorMapper): HttpError {
  if (e instanceof HttpError) return e;
  if (e instanceof Forbidden) return new HttpError(403, 'forbidden', e.message);
  const mapped = mapError?.(e);
  if (mapped) return mapped;
  if (e instanceof PublishError && e.retryable) return unavailable('NATS');
  if (isDatabaseUnavailable(e)) return unavailable('the database');
  if (e instanceof ConcurrencyError) {
    return conflict(
      'version_conflict',
      `${e.aggregateId} is at version ${e.currentVersion}; reload it and decide again`,
      { currentVersion: e.currentVersion },
    );
  }
  if (e instanceof RequestConflictError) {
    return conflict('request_id_conflict', 'this requestId was already used for other content', {
      requestId: e.requestId,
      eventId: e.eventId,
    });
  }
  if (e instanceof DeadLetterNotFoundError) return notFound(e.message);
  if (e instanceof DeadLetterConflictError) return conflict('conflict', e.message);
  if (e instanceof HTTPException) return fromHono(e);
  return new HttpError(500, 'internal', 'unexpected error');
}

function fromHono(e: HTTPException): HttpError {
  switch (e.status) {
    case 400:
      return new HttpError(400, 'invalid_json', 'the body is not valid JSON', {
        issues: [{ path: '', message: 'body is not valid JSON' }],
      });
    case 413:
      return new HttpError(413, 'payload_too_large', 'the body is too large');
    case 415:
      return new HttpError(415, 'unsupported_media_type', 'the body must be application/json', {
        expected: 'application/json',
      });
    default:
      return new HttpError(e.status === 500 ? 500 : e.status, 'http_error', e.message);
  }
}
