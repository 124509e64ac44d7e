import { Actor } from '@cohort/contracts';
import { Hono } from 'hono';
import { z } from 'zod';
import { PublishError } from '../errors.js';
import { readJson, validationFailed } from '../http.js';
import {
  DEAD_LETTER_STATUSES,
  DeadLetterConflictError,
  DeadLetterNotFoundError,
  type DeadLetter,
  type DeadLetterDesk,
} from './desk.js';

const ChangeBody = z
  .object({
    /** Who: `{ id, role }`. */
    actor: Actor,
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

/** A dead letter without its payload and history: one line of a list. */
export function summary(d: DeadLetter) {
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

/**
 * The dead-letter desk over HTTP, to mount where operators reach it (e.g.
 * `app.route('/v1/dead-letters', deadLetterRoutes(desk))`):
 * `GET /` (?consumer, ?status), `GET /:id`, `POST /:id/redrive`, `POST /:id/discard`
 * (`{ actor, reason }`), `POST /redrive` (`{ consumer, actor, reason, ratePerSecond? }`).
 */
export function deadLetterRoutes(desk: DeadLetterDesk): Hono {
  const app = new Hono();

  app.get('/', async (c) => {
    const q = ListQuery.safeParse(c.req.query());
    if (!q.success) return validationFailed(c, q.error);
    await desk.captureAll();
    return c.json({ items: (await desk.list(q.data)).map(summary) });
  });
  app.post('/redrive', async (c) => {
    const b = await readJson(c, RedriveAllBody);
    if (b instanceof Response) return b;
    await desk.captureAll();
    const done = await desk.redriveAll(b.consumer, b);
    return c.json({ redriven: done.map(summary) });
  });
  app.get('/:id', async (c) => {
    await desk.captureAll();
    return c.json(await desk.get(c.req.param('id')));
  });
  app.post('/:id/redrive', async (c) => {
    const b = await readJson(c, ChangeBody);
    if (b instanceof Response) return b;
    return c.json(await desk.redrive(c.req.param('id'), b));
  });
  app.post('/:id/discard', async (c) => {
    const b = await readJson(c, ChangeBody);
    if (b instanceof Response) return b;
    return c.json(await desk.discard(c.req.param('id'), b));
  });

  app.onError((e, c) => {
    if (e instanceof DeadLetterNotFoundError)
      return c.json({ error: 'not_found', message: e.message }, 404);
    if (e instanceof DeadLetterConflictError)
      return c.json({ error: 'conflict', message: e.message }, 409);
    if (e instanceof PublishError && e.retryable) {
      c.header('Retry-After', '2');
      return c.json({ error: 'unavailable', message: e.message }, 503);
    }
    throw e;
  });
  return app;
}
