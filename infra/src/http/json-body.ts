import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HttpError } from './errors.js';

/** What a body may be: JSON, or a JSON-based media type (`application/problem+json`). */
const JSON_TYPE = /^application\/([\w.+-]+\+)?json\s*(;|$)/i;
const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Every request body, on every route: JSON only (415 otherwise, before a byte is read, so a web
 * page cannot post a form or text/plain without a CORS preflight), at most `limitBytes` (413
 * as soon as the limit is crossed, whatever Content-Length claims: nothing larger is buffered),
 * and then `check(text)` on the raw text, whose error answers instead.
 */
export function jsonBodies(
  limitBytes: number,
  check?: (text: string) => HttpError | undefined,
): MiddlewareHandler {
  const tooLarge = () =>
    new HttpError(413, 'payload_too_large', `the body is larger than ${limitBytes} bytes`, {
      limitBytes,
    });
  const limited = bodyLimit({
    maxSize: limitBytes,
    onError: () => {
      throw tooLarge();
    },
  });
  return async (c, next) => {
    if (!METHODS_WITH_BODY.has(c.req.method) || !hasBody(c.req.raw)) return next();
    if (!JSON_TYPE.test(c.req.header('content-type') ?? '')) {
      throw new HttpError(415, 'unsupported_media_type', 'the body must be application/json', {
        expected: 'application/json',
      });
    }
    await limited(c, async () => {
      const problem = check?.(await c.req.text());
      if (problem) throw problem;
      await next();
    });
  };
}

function hasBody(req: Request): boolean {
  const length = req.headers.get('content-length');
  if (length !== null) return length !== '0';
  return req.body !== null;
}
