import type { FieldIssue } from '@cohort/contracts';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/**
 * An answer given on purpose. Every error body has one shape: `{ error, message, ...details }`,
 * where `error` is a stable machine-readable code and `message` says what to do about it.
 */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  get body(): Record<string, unknown> {
    return { error: this.code, message: this.message, ...this.details };
  }
}

/** 400 naming every failing field: `issues: [{ path, message }]`. */
export function validationFailed(issues: FieldIssue[]): HttpError {
  return new HttpError(400, 'validation_failed', 'the request has invalid fields', { issues });
}

/** 404: nothing there, or nothing the caller may know of. */
export function notFound(message: string, details: Record<string, unknown> = {}): HttpError {
  return new HttpError(404, 'not_found', message, details);
}

/** 409: the request contradicts what is already recorded. */
export function conflict(
  code: string,
  message: string,
  details: Record<string, unknown> = {},
): HttpError {
  return new HttpError(409, code, message, details);
}

/** Seconds a client waits before retrying when a dependency is down. */
export const RETRY_AFTER_SECONDS = 2;

/** 503 with `Retry-After`: a dependency is down; the same request later will succeed. */
export function unavailable(what: string): HttpError {
  return new HttpError(
    503,
    'unavailable',
    `${what} is unavailable; retry later with the same request`,
    {},
    { 'Retry-After': String(RETRY_AFTER_SECONDS) },
  );
}
