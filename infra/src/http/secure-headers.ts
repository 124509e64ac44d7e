import { ServerResponse } from 'node:http';
import { Hono, type MiddlewareHandler } from 'hono';
import { secureHeaders } from 'hono/secure-headers';

/**
 * Headers on every answer: no sniffing, no framing, no referrer, and a Content-Security-Policy
 * that lets pages load only their own scripts (the API reference's styles are inline).
 */
export const SECURE_HEADERS = {
  contentSecurityPolicy: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'", "'unsafe-inline'"],
    imgSrc: ["'self'", 'data:'],
    connectSrc: ["'self'"],
    objectSrc: ["'none'"],
    baseUri: ["'self'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
  },
  xFrameOptions: 'DENY',
};

/** The names and values Hono's secureHeaders(SECURE_HEADERS) puts on an answer. */
async function secureHeaderValues(): Promise<[string, string][]> {
  const res = await new Hono()
    .use(secureHeaders(SECURE_HEADERS))
    .get('/', (c) => c.body(null, 204))
    .request('/');
  return [...res.headers];
}

/**
 * SECURE_HEADERS on every answer, with the values Hono's secureHeaders gives them. Served by
 * `listen`, they are set on Node's response before the app runs, as plain strings: Hono would
 * set each on a fetch `Headers` of the answer (validated, sorted) that @hono/node-server then
 * copies back into a plain object for Node. No route sets any of these headers itself (a
 * route's own value would win over Node's here, where Hono's would be replaced).
 */
export function secureAnswers(): MiddlewareHandler {
  const viaHono = secureHeaders(SECURE_HEADERS);
  let values: [string, string][] | undefined;
  const pending = secureHeaderValues().then((v) => (values = v));
  return async (c, next) => {
    const outgoing = (c.env as { outgoing?: unknown } | undefined)?.outgoing;
    if (!(outgoing instanceof ServerResponse)) return viaHono(c, next);
    for (const [name, value] of values ?? (await pending)) outgoing.setHeader(name, value);
    await next();
  };
}
