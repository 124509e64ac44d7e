import { Actor, DeadLetterId } from '@cohort/contracts';
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import { actorOf } from '../auth/caller.js';
import { authorized } from '../auth/middleware.js';
import { createRouter } from '../http/api.js';
import { errorResponses, jsonBody, jsonContent } from '../http/openapi.js';
import type { Logger } from '../logger.js';
import { DEAD_LETTER_STATUSES, type DeadLetter, type DeadLetterDesk } from './desk.js';

// Who acts is the verified caller; a body naming an actor is refused.
const ChangeBody = z
  .object({
    /** Why: kept forever with the change. */
    reason: z.string().min(1).max(1000),
  })
  .strict();
const RedriveAllBody = ChangeBody.extend({
  consumer: z.string().min(1).max(128),
  ratePerSecond: z.number().positive().max(1000).optional(),
}).strict();
const ListQuery = z
  .object({
    consumer: z.string().min(1).max(128).optional(),
    status: z.enum(DEAD_LETTER_STATUSES).optional(),
  })
  .strict();
const IdParams = z.object({ id: DeadLetterId });

const Summary = z
  .object({
    id: z.string(),
    consumer: z.string(),
    status: z.enum(DEAD_LETTER_STATUSES),
    cause: z.string(),
    stream: z.string(),
    seq: z.number().int(),
    subject: z.string(),
    deliveries: z.number().int(),
    lastError: z.string().nullable(),
    lastFailedAt: z.string(),
    capturedAt: z.string(),
  })
  .meta({ id: 'DeadLetterSummary' });
const Change = z.object({
  action: z.enum(['captured', 'redriven', 'discarded']),
  at: z.string(),
  actor: Actor,
  reason: z.string().nullable(),
  redriveMsgId: z.string().optional(),
});
const Detail = Summary.extend({
  headers: z.record(z.string(), z.array(z.string())),
  payload: z.string().meta({ description: 'the original message, base64' }),
  envelope: z.unknown().meta({ description: 'the payload as JSON when it parses, else null' }),
  firstFailedAt: z.string(),
  history: z.array(Change),
}).meta({ id: 'DeadLetter' });

/** A dead letter without its payload and history: one line of a list. */
export function summary(d: DeadLetter): z.infer<typeof Summary> {
  return {
    id: d.id,
    consumer: d.consumer,
    status: d.status,
    cause: d.cause,
    stream: d.stream,
    seq: d.seq,
    subject: d.subject,
    deliveries: d.deliveries,
    lastError: d.lastError,
    lastFailedAt: d.lastFailedAt,
    capturedAt: d.capturedAt,
  };
}

const TAGS = ['dead letters'];

/**
 * The dead-letter desk over HTTP, to mount where operators reach it (e.g.
 * `app.route('/v1/dead-letters', deadLetterRoutes(desk))` in an app of `createApi`, which
 * authenticates; every route needs the `ops` role and records the caller as who acted): `GET /` (?consumer, ?status), `GET /{id}`, `POST /{id}/redrive`,
 * `POST /{id}/discard` (`{ reason }`), `POST /redrive` (`{ consumer, reason, ratePerSecond? }`). Every read captures pending advisories first.
 */
export function deadLetterRoutes(desk: DeadLetterDesk, log?: Logger): OpenAPIHono {
  const app = createRouter({ log });

  app.openapi(
    createRoute({
      method: 'get',
      path: '/',
      tags: TAGS,
      summary: 'Dead letters, oldest first',
      request: { query: ListQuery },
      responses: {
        200: jsonContent(z.object({ items: z.array(Summary) }), 'the list'),
        ...errorResponses([400]),
      },
    }),
    async (c) => {
      authorized(c, 'deadletters.read');
      await desk.captureAll();
      return c.json({ items: (await desk.list(c.req.valid('query'))).map(summary) }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/redrive',
      tags: TAGS,
      summary: 'Redrive every open dead letter of a consumer',
      request: { body: jsonBody(RedriveAllBody) },
      responses: {
        200: jsonContent(z.object({ redriven: z.array(Summary) }), 'what was redriven'),
        ...errorResponses([409], { body: true }),
      },
    }),
    async (c) => {
      const b = c.req.valid('json');
      const caller = authorized(c, 'deadletters.change');
      await desk.captureAll();
      const done = await desk.redriveAll(b.consumer, { ...b, actor: actorOf(caller) });
      return c.json({ redriven: done.map(summary) }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/{id}',
      tags: TAGS,
      summary: 'One dead letter with its payload and history',
      request: { params: IdParams },
      responses: { 200: jsonContent(Detail, 'the dead letter'), ...errorResponses([400, 404]) },
    }),
    async (c) => {
      authorized(c, 'deadletters.read');
      await desk.captureAll();
      return c.json(await desk.get(c.req.valid('param').id), 200);
    },
  );
  for (const action of ['redrive', 'discard'] as const) {
    app.openapi(
      createRoute({
        method: 'post',
        path: `/{id}/${action}`,
        tags: TAGS,
        summary:
          action === 'redrive'
            ? 'Send it back to the one consumer that failed it'
            : 'Record that it will never be applied',
        request: { params: IdParams, body: jsonBody(ChangeBody) },
        responses: {
          200: jsonContent(Detail, 'the dead letter after the change'),
          ...errorResponses([404, 409], { body: true }),
        },
      }),
      async (c) => {
        const { id } = c.req.valid('param');
        const caller = authorized(c, 'deadletters.change');
        const change = { ...c.req.valid('json'), actor: actorOf(caller) };
        const dl =
          action === 'redrive' ? await desk.redrive(id, change) : await desk.discard(id, change);
        return c.json(dl, 200);
      },
    );
  }
  return app;
}
