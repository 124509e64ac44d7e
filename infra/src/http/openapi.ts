import { z } from 'zod';

/** Every error answer: a stable code, a message for people, and details that depend on the code. */
export const ErrorBody = z
  .object({
    error: z.string().meta({ description: 'stable machine-readable code, e.g. not_found' }),
    message: z.string().meta({ description: 'what happened and what to do about it' }),
  })
  .catchall(z.unknown())
  .meta({ id: 'Error' });

/** A 400: every failing field named, `path` dotted (`answers.0.value`), '' for the whole body. */
export const ValidationErrorBody = ErrorBody.extend({
  issues: z.array(z.object({ path: z.string(), message: z.string() })),
}).meta({ id: 'ValidationError' });

const DESCRIPTIONS = {
  400: 'invalid fields, each named in `issues`',
  401: 'no valid bearer token',
  403: 'the token does not allow this',
  404: 'nothing there',
  409: 'conflicts with what is already recorded',
  413: 'body too large',
  415: 'body is not application/json',
  422: 'not allowed in the current state',
  500: 'unexpected error',
  503: 'a dependency (NATS or the database) is down; retry after `Retry-After` seconds',
} as const;
export type ErrorStatus = keyof typeof DESCRIPTIONS;

/** A JSON response of `schema`. */
export function jsonContent<S extends z.ZodType>(schema: S, description: string) {
  return { description, content: { 'application/json': { schema } } };
}

/**
 * The error answers of a route, documented with the common error shape: those given plus 401,
 * 403, 500 and 503, which any route behind a token may give; 400, 413 and 415 too for a route
 * that takes a body.
 */
export function errorResponses(statuses: ErrorStatus[], opts: { body?: boolean } = {}) {
  const all = new Set<ErrorStatus>([...statuses, 401, 403, 500, 503]);
  if (opts.body) {
    all.add(400);
    all.add(413);
    all.add(415);
  }
  const out: Partial<Record<ErrorStatus, ReturnType<typeof jsonContent>>> = {};
  for (const s of all) {
    out[s] = jsonContent(s === 400 ? ValidationErrorBody : ErrorBody, DESCRIPTIONS[s]);
  }
  return out;
}

/** A required JSON request body of `schema`. */
export function jsonBody<S extends z.ZodType>(schema: S) {
  return { required: true, content: { 'application/json': { schema } } };
}
