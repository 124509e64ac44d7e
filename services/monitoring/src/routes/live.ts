import { setTimeout as wait } from 'node:timers/promises';
import { authorized, errorResponses } from '@cohort/infra';
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import type { AppDeps } from '../app.js';
import { changeMark } from '../queries.js';

/** How often the live stream looks for changes: the dashboard is this fresh. */
export const LIVE_POLL_MS = 1_000;
/**
 * A `tick` at least this often, with or without changes: compliance also moves with the clock
 * (windows close), and proxies keep a connection that carries something.
 */
export const LIVE_TICK_MS = 30_000;

/**
 * `GET /v1/events`: server-sent events telling the dashboard to fetch again. `changed` when
 * anything it shows changed (reports, alerts, findings, patients, statuses), `tick` otherwise
 * now and then. They carry no data: what the caller may see is fetched with their token. The
 * stream ends when the service stops (`stopping`), so that shutdown does not wait for clients.
 */
export function liveRoutes(app: OpenAPIHono, deps: Pick<AppDeps, 'db' | 'stopping'>): void {
  const stopping = deps.stopping ?? new AbortController().signal;
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/events',
      tags: ['dashboard'],
      summary: 'Live updates (server-sent events: changed, tick)',
      responses: {
        200: {
          description: 'an event stream',
          content: { 'text/event-stream': { schema: z.string() } },
        },
        ...errorResponses([]),
      },
    }),
    (c) => {
      authorized(c, 'dashboard.watch');
      return streamSSE(c, async (stream) => {
        let last = '';
        let lastSent = 0;
        let id = 0;
        while (!stream.aborted && !stream.closed && !stopping.aborted) {
          const mark = await changeMark(deps.db).catch(() => last);
          const now = Date.now();
          if (mark !== last) {
            last = mark;
            lastSent = now;
            await stream.writeSSE({ event: 'changed', data: '{}', id: String(++id) });
          } else if (now - lastSent >= LIVE_TICK_MS) {
            lastSent = now;
            await stream.writeSSE({ event: 'tick', data: '{}', id: String(++id) });
          }
          // Rejects when the service stops, which ends the loop.
          await wait(LIVE_POLL_MS, undefined, { signal: stopping }).catch(() => undefined);
        }
      });
    },
  );
}
