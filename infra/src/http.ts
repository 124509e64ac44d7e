import { fieldIssues, type FieldIssue } from '@cohort/contracts';
import { serve } from '@hono/node-server';
import type { Context, Hono, MiddlewareHandler } from 'hono';
import type { z } from 'zod';
import { routePath } from 'hono/route';
import type { Logger } from './logger.js';
import type { ServiceMetrics } from './metrics.js';
import type { SqlStore } from './store/sql-store.js';

/** A readiness check: resolves to null when ready, or to the reason it is not. */
export type ReadinessCheck = () => Promise<string | null>;

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

/** Mounts `/healthz` (process up), `/readyz` (every check passes) and `/metrics` (Prometheus). */
export function mountOps(
  app: Hono,
  metrics: ServiceMetrics,
  checks: Record<string, ReadinessCheck>,
  /** Extra facts shown by /readyz that do not decide readiness (e.g. consumer lag). */
  info?: () => Promise<Record<string, unknown>>,
) {
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    const results = await Promise.all(
      Object.entries(checks).map(async ([name, check]) => {
        try {
          return [name, (await check()) ?? 'ok'] as const;
        } catch (e) {
          return [name, (e as Error).message] as const;
        }
      }),
    );
    const ready = results.every(([, r]) => r === 'ok');
    const extra = info ? await info().catch(() => ({})) : {};
    return c.json(
      { status: ready ? 'ready' : 'not ready', checks: Object.fromEntries(results), ...extra },
      ready ? 200 : 503,
    );
  });
  app.get('/metrics', async (c) => {
    c.header('Content-Type', metrics.registry.contentType);
    return c.body(await metrics.registry.metrics());
  });
}

export interface RunningServer {
  port: number;
  /** Stops accepting connections and resolves once in-flight requests have finished. */
  close(): Promise<void>;
}

/** Serves a Hono app on 127.0.0.1 or `HOST`, resolving once it listens. */
export function listen(
  app: Hono,
  port: number,
  host = process.env.HOST ?? '0.0.0.0',
): Promise<RunningServer> {
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port, hostname: host }, (info) => {
      resolve({
        port: info.port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            // Keep-alive sockets with no request in flight would hold close() open.
            if ('closeIdleConnections' in server) server.closeIdleConnections();
          }),
      });
    });
  });
}

/**
 * Runs `stop` once on SIGTERM or SIGINT, then exits 0 (1 if stopping failed). A second signal
 * exits at once.
 */
export function onShutdown(log: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info({ signal }, 'shutting down');
    stop().then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (e: unknown) => {
        log.error({ err: e }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}

/**
 * Exits the process (code 1) if its database is lost for good, so that whatever supervises it
 * starts it again. Nothing is lost: messages are acked only after their commit, so the ones in
 * hand are redelivered.
 */
export function exitWhenLost(store: Pick<SqlStore, 'lost'>, log: Logger): void {
  void store.lost.then((e) => {
    log.error({ err: e }, 'database lost; exiting to be restarted');
    process.exit(1);
  });
}

/** 400 naming every failing field: `{ error: 'validation_failed', issues: [{ path, message }] }`. */
export function validationFailed(c: Context, issues: FieldIssue[] | z.ZodError) {
  const list = Array.isArray(issues) ? issues : fieldIssues(issues);
  return c.json({ error: 'validation_failed', issues: list }, 400);
}

/**
 * Reads a JSON body and validates it: the value, or a 400 Response naming every failing field
 * (`{ error, issues: [{ path, message }] }`) for the handler to return as it is.
 */
export async function readJson<T>(c: Context, schema: z.ZodType<T>): Promise<T | Response> {
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch {
    return c.json(
      { error: 'invalid_json', issues: [{ path: '', message: 'body is not valid JSON' }] },
      400,
    );
  }
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  return validationFailed(c, r.error);
}
