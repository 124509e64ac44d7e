import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { z } from 'zod';
import type { ServiceMetrics } from '../metrics.js';
import { jsonContent } from './openapi.js';

/** A readiness check: resolves to null when ready, or to the reason it is not. */
export type ReadinessCheck = () => Promise<string | null>;

/** A check, or extra facts, that take longer than this are reported as timed out. */
export const READINESS_TIMEOUT_MS = 1_000;

/** Ready while the NATS connection is up. */
export function natsReady(conn: { isConnected(): boolean }): ReadinessCheck {
  return () => Promise.resolve(conn.isConnected() ? null : 'not connected to NATS');
}

/** Ready while the database answers a query. */
export function databaseReady(db: { query(sql: string): Promise<unknown> }): ReadinessCheck {
  return async () => {
    await db.query('SELECT 1');
    return null;
  };
}

/** Counts and times every request by its route pattern (not its raw path: bounded labels). */
export function httpMetrics(metrics: ServiceMetrics): MiddlewareHandler {
  return async (c, next) => {
    const start = performance.now();
    await next();
    const route = routePath(c) || 'unmatched';
    metrics.httpRequests.inc({ route, method: c.req.method, status: String(c.res.status) });
    metrics.httpDuration.observe(
      { route, method: c.req.method },
      (performance.now() - start) / 1000,
    );
  };
}

function withTimeout<T>(p: Promise<T>, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), READINESS_TIMEOUT_MS);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

const Health = z.object({ status: z.literal('ok') }).meta({ id: 'Health' });
const Readiness = z
  .object({
    status: z.enum(['ready', 'not ready']),
    checks: z.record(z.string(), z.string()).meta({ description: '"ok", or why not' }),
    auth: z.enum(['development', 'configured']).optional().meta({
      description: 'where token keys come from: the local development key set, or configured',
    }),
  })
  .catchall(z.unknown())
  .meta({ id: 'Readiness' });

/**
 * Mounts `/healthz` (process up), `/readyz` (every check passes; `info` adds facts that do not
 * decide readiness, such as consumer lag) and `/metrics` (Prometheus). Each check and the info
 * answer within READINESS_TIMEOUT_MS or count as timed out: a probe never hangs on a dependency.
 */
export function mountOps(
  app: OpenAPIHono,
  metrics: ServiceMetrics,
  checks: Record<string, ReadinessCheck>,
  info?: () => Promise<Record<string, unknown>>,
  auth?: 'development' | 'configured',
): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/healthz',
      tags: ['operations'],
      security: [],
      summary: 'The process is up',
      responses: { 200: jsonContent(Health, 'up') },
    }),
    (c) => c.json({ status: 'ok' as const }, 200),
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/readyz',
      tags: ['operations'],
      security: [],
      summary: 'Every dependency is ready',
      responses: {
        200: jsonContent(Readiness, 'ready'),
        503: jsonContent(Readiness, 'not ready, with the reason of each failing check'),
      },
    }),
    async (c) => {
      const results = await Promise.all(
        Object.entries(checks).map(async ([name, check]) => {
          const r = await withTimeout(
            check().then(
              (x) => x ?? 'ok',
              (e: unknown) => (e instanceof Error ? e.message : String(e)),
            ),
            'timed out',
          );
          return [name, r] as const;
        }),
      );
      const ready = results.every(([, r]) => r === 'ok');
      const extra = info
        ? await withTimeout(
            info().catch(() => ({})),
            {},
          )
        : {};
      const body = {
        status: ready ? ('ready' as const) : ('not ready' as const),
        checks: Object.fromEntries(results),
        ...(auth ? { auth } : {}),
        ...extra,
      };
      return ready ? c.json(body, 200) : c.json(body, 503);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/metrics',
      tags: ['operations'],
      security: [],
      summary: 'Prometheus metrics',
      responses: {
        200: {
          description: 'Prometheus text exposition',
          content: { 'text/plain': { schema: z.string() } },
        },
      },
    }),
    async (c) =>
      c.text(await metrics.registry.metrics(), 200, {
        'Content-Type': metrics.registry.contentType,
      }),
  );
}
