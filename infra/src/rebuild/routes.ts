import { Actor } from '@cohort/contracts';
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import { actorOf } from '../auth/caller.js';
import { authorized } from '../auth/middleware.js';
import { createRouter } from '../http/api.js';
import { errorResponses, jsonBody, jsonContent } from '../http/openapi.js';
import type { Logger } from '../logger.js';
import type { Rebuilds } from './rebuilds.js';

const TAGS = ['rebuilds'];
/** Why, when the caller does not say: kept with the rebuild. */
const DEFAULT_REASON = 'read model rebuilt from sequence 1';

const Params = z.object({
  projection: z
    .string()
    .regex(/^[a-z0-9-]{1,128}$/, 'a projection name looks like case-reports')
    .meta({ description: "the projection's durable name without the service, e.g. case-reports" }),
});

const StartBody = z
  .object({
    /** Must be true: the request starts the rebuild (GET shows what it would do). */
    execute: z.literal(true),
    onFailure: z.enum(['stop', 'dead-letter']).default('stop').meta({
      description:
        'an event that cannot be applied stops the rebuild (its sequence in the status), or is recorded as a dead letter and the rebuild goes on',
    }),
    reason: z.string().min(1).max(1000).optional(),
  })
  .strict();

const Record = z
  .object({
    consumer: z.string(),
    status: z.enum(['running', 'interrupted', 'failed', 'swapped']),
    owner: z.string(),
    heartbeatAt: z.string(),
    startedAt: z.string(),
    startedBy: Actor,
    reason: z.string(),
    onFailure: z.enum(['stop', 'dead-letter']),
    shadowSchema: z.string(),
    targetSeq: z.number().int(),
    appliedSeq: z.number().int(),
    applied: z.number().int(),
    skipped: z.number().int(),
    deadLettered: z.number().int(),
    failedSeq: z.number().int().nullable(),
    error: z.string().nullable(),
    effectsMerged: z.number().int().nullable(),
    finishedAt: z.string().nullable(),
  })
  .meta({ id: 'Rebuild' });

const Plan = z
  .object({
    projection: z.string(),
    consumer: z.string(),
    stream: z.string(),
    filterSubject: z.string().nullable(),
    messages: z.number().int(),
    streamLastSeq: z.number().int(),
    fromSeq: z.number().int(),
    live: z.object({ appliedSeq: z.number().int(), pending: z.number().int().nullable() }),
    shadowSchema: z.string(),
    tables: z.array(z.string()),
    rebuild: Record.nullable(),
  })
  .meta({ id: 'RebuildPlan' });

/**
 * Rebuilding a service's read models over HTTP, mounted by runService at `/v1/rebuilds` on
 * every service with projections (`ops` only): `GET /{projection}` shows the plan and the last
 * rebuild's status; `POST /{projection}` (`{ execute: true, onFailure, reason? }`) starts one.
 */
export function rebuildRoutes(rebuilds: Rebuilds, log?: Logger): OpenAPIHono {
  const app = createRouter({ log });
  app.openapi(
    createRoute({
      method: 'get',
      path: '/{projection}',
      tags: TAGS,
      summary: 'What a rebuild of the projection would do, and how the last one went',
      request: { params: Params },
      responses: {
        200: jsonContent(Plan, 'the plan and status'),
        ...errorResponses([400, 404]),
      },
    }),
    async (c) => {
      authorized(c, 'projections.rebuild');
      return c.json(await rebuilds.plan(c.req.valid('param').projection), 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/{projection}',
      tags: TAGS,
      summary: 'Rebuild the projection from sequence 1 beside the live one, then swap it in',
      request: { params: Params, body: jsonBody(StartBody) },
      responses: {
        202: jsonContent(Plan, 'started; follow it with GET'),
        ...errorResponses([404, 409], { body: true }),
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const caller = authorized(c, 'projections.rebuild');
      const plan = await rebuilds.start(c.req.valid('param').projection, {
        actor: actorOf(caller),
        reason: body.reason ?? DEFAULT_REASON,
        onFailure: body.onFailure,
      });
      return c.json(plan, 202);
    },
  );
  return app;
}
