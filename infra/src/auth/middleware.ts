import type { Context, MiddlewareHandler } from 'hono';
import { HttpError } from '../http/errors.js';
import type { Logger } from '../logger.js';
import type { Caller } from './caller.js';
import type { TokenKeys } from './keys.js';
import { authorize, type Action, type Resource } from './policy.js';
import { VerifiedTokens } from './token-cache.js';
import { KeysUnavailable, Unauthenticated } from './verify.js';

declare module 'hono' {
  interface ContextVariableMap {
    /** The verified caller of a route that needs a token. */
    caller: Caller;
    /** Set once the route checked the caller against the policy. */
    authorized: boolean;
  }
}

/** Paths anyone may call: health, readiness, metrics and the API's documentation. */
export function isPublicPath(path: string): boolean {
  return (
    path === '/healthz' ||
    path === '/readyz' ||
    path === '/metrics' ||
    path === '/openapi.json' ||
    path === '/docs' ||
    path.startsWith('/docs/')
  );
}

function unauthenticated(invalidToken: boolean): HttpError {
  return new HttpError(
    401,
    'unauthenticated',
    'a valid bearer token is required',
    {},
    {
      'WWW-Authenticate': invalidToken
        ? 'Bearer realm="cohort", error="invalid_token"'
        : 'Bearer realm="cohort"',
    },
  );
}

/**
 * Every route but the public ones (and those `alsoPublic` names: pages that hold no data) needs `Authorization: Bearer <JWT>` (401 otherwise), and must
 * check the caller against the policy with `authorize(c, …)` before it answers: a route that
 * answers without having done so fails closed (500), so no route can be left unguarded.
 * Verified tokens are kept for their repeats (`VerifiedTokens`).
 */
export function authentication(
  keys: TokenKeys,
  log: Logger,
  alsoPublic: (path: string) => boolean = () => false,
): MiddlewareHandler {
  const tokens = new VerifiedTokens(keys);
  return async (c, next) => {
    if (isPublicPath(c.req.path) || alsoPublic(c.req.path)) return next();
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/i.exec(header.trim());
    if (!match) throw unauthenticated(header !== '');
    try {
      c.set('caller', await tokens.verify(match[1]!));
    } catch (e) {
      if (e instanceof Unauthenticated) {
        log.debug({ reason: e.message, path: c.req.path }, 'token refused');
        throw unauthenticated(true);
      }
      if (e instanceof KeysUnavailable)
        throw new HttpError(503, 'unavailable', e.message, {}, { 'Retry-After': '2' });
      throw e;
    }
    c.set('authorized', false);
    await next();
    if (!c.get('authorized') && c.res.status < 400) {
      log.error({ path: c.req.path, method: c.req.method }, 'route answered without authorization');
      throw new HttpError(500, 'internal', 'unexpected error');
    }
  };
}

/**
 * The caller of this request, once the policy allows `action` on `resource` (403 otherwise).
 * Call it before reading anything the caller asks about.
 */
export function authorized(c: Context, action: Action, resource: Resource = {}): Caller {
  const caller = c.get('caller');
  authorize(caller, action, resource);
  c.set('authorized', true);
  return caller;
}
