import { fieldIssues } from '@cohort/contracts';
import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { z } from 'zod';
import type { TokenKeys } from '../auth/keys.js';
import { authentication } from '../auth/middleware.js';
import type { Logger } from '../logger.js';
import type { ServiceMetrics } from '../metrics.js';
import { mountDocs } from './docs.js';
import { toHttpError, type ErrorMapper } from './error-map.js';
import { notFound, validationFailed, type HttpError } from './errors.js';
import { exactJsonIssues } from './exact-json.js';
import { jsonBodies } from './json-body.js';
import { httpMetrics, mountOps, type ReadinessCheck } from './ops.js';
import { secureAnswers } from './secure-headers.js';

export { SECURE_HEADERS } from './secure-headers.js';

/** Most bytes a request body may have unless the service says otherwise. */
export const DEFAULT_BODY_LIMIT_BYTES = 64 * 1024;

export interface ApiOptions {
  /** The service: the document's title and the metrics' label. */
  service: string;
  /** One paragraph for the OpenAPI document. */
  description: string;
  metrics: ServiceMetrics;
  log: Logger;
  /** The keys bearer tokens are verified with. */
  auth: TokenKeys;
  /** Readiness checks for `/readyz`. */
  ready: Record<string, ReadinessCheck>;
  /** Facts `/readyz` shows that do not decide readiness (e.g. each consumer's lag). */
  info?: () => Promise<Record<string, unknown>>;
  /** The service's own domain errors as answers; the common ones are mapped anyway. */
  mapError?: ErrorMapper;
  bodyLimitBytes?: number;
  /** Paths anyone may fetch beyond health, readiness, metrics and docs: pages with no data. */
  publicPaths?: (path: string) => boolean;
}

/** Answers with an HttpError in the common shape, with its headers. */
export function answer(c: Context, e: HttpError): Response {
  for (const [k, v] of Object.entries(e.headers)) c.header(k, v);
  return c.json(e.body, e.status);
}

/**
 * A router of the edge: routes validate with the zod schemas they are documented with (400
 * naming every failing field), and errors are answered by the one error map. `createApi` builds
 * on it; a router mounted in an app (`app.route(path, router)`) answers its own errors alike.
 */
export function createRouter(opts: { log?: Logger; mapError?: ErrorMapper } = {}): OpenAPIHono {
  const app = new OpenAPIHono({
    defaultHook: (result, c) => {
      if (!result.success) return answer(c, validationFailed(fieldIssues(result.error)));
    },
  });
  app.notFound((c) => answer(c, notFound(`no route ${c.req.method} ${c.req.path}`)));
  app.onError((e, c) => {
    const h = toHttpError(e, opts.mapError);
    if (h.status >= 500) {
      const level = h.status === 503 ? 'warn' : 'error';
      opts.log?.[level]({ err: e, method: c.req.method, path: c.req.path }, 'request failed');
    }
    return answer(c, h);
  });
  return app;
}

/**
 * The HTTP edge every Cohort service is built on: an OpenAPIHono app whose routes validate their
 * params, query and body with the zod schemas they are documented with (400 naming every
 * failing field), JSON bodies only and bounded, one mapping from errors to answers, request
 * metrics, `/healthz`, `/readyz`, `/metrics`, the OpenAPI 3.1 document at `/openapi.json` and
 * an interactive reference at `/docs`. The service adds its routes with `app.openapi()`.
 */
export function createApi(opts: ApiOptions): OpenAPIHono {
  const app = createRouter(opts);
  app.use(httpMetrics(opts.metrics));
  app.use(secureAnswers());
  // Before any body is read: an anonymous caller costs a header check, not a parse.
  app.use(authentication(opts.auth, opts.log, opts.publicPaths));
  // What JSON.parse would silently change (NUL, lone surrogates, numbers a double cannot hold)
  // is refused here, naming the field, before any schema sees the parsed value.
  app.use(
    jsonBodies(opts.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES, (text) => {
      const issues = exactJsonIssues(text);
      return issues.length > 0 ? validationFailed(issues) : undefined;
    }),
  );
  mountOps(app, opts.metrics, opts.ready, opts.info, opts.auth.mode);
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'a JWT with `sub`, `role` and `trials`, signed with a key the service trusts',
  });
  const doc = {
    openapi: '3.1.0',
    info: { title: `Cohort ${opts.service}`, version: '1', description: opts.description },
    security: [{ bearer: [] }],
  };
  app.openapi(
    createRoute({
      method: 'get',
      path: '/openapi.json',
      tags: ['documentation'],
      security: [],
      summary: 'This OpenAPI document',
      responses: {
        200: {
          description: 'OpenAPI 3.1',
          content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } },
        },
      },
    }),
    (c) => c.json(app.getOpenAPI31Document(doc), 200),
  );
  mountDocs(app, `Cohort ${opts.service}`);
  return app;
}
