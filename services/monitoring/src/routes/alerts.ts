import {
  actorOf,
  authorized,
  conflict,
  errorResponses,
  inTrial,
  jsonBody,
  jsonContent,
  notFound,
} from '@cohort/infra';
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import {
  AcknowledgeBody,
  AlertChange,
  AlertParams,
  AlertsQuery,
  AlertView,
  ResolveBody,
} from '../api-schemas.js';
import type { AppDeps } from '../app.js';
import { AlertRefused } from '../alert.js';
import { listAlerts } from '../queries.js';
import { alerts, pairId } from '../stores.js';

const TAGS = ['alerts'];

/** An alert staff cannot act on as asked, as an answer. */
export function alertRefusal(e: unknown) {
  if (!(e instanceof AlertRefused)) return undefined;
  if (e.kind === 'not-found') return notFound(`no alert ${e.alertId}`);
  return conflict(
    e.kind.replaceAll('-', '_'),
    `alert ${e.alertId}: ${e.kind.replaceAll('-', ' ')}`,
  );
}

/** Safety alerts: list them; staff acknowledge and resolve them, with who, when and why. */
export function alertRoutes(app: OpenAPIHono, deps: AppDeps): void {
  const handler = alerts(deps.stores.alerts);

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/alerts',
      tags: TAGS,
      summary: 'Alerts of the trials you may see, newest first',
      request: { query: AlertsQuery },
      responses: {
        200: jsonContent(z.object({ items: z.array(AlertView) }), 'the alerts'),
        ...errorResponses([400]),
      },
    }),
    async (c) => {
      const caller = authorized(c, 'monitoring.list');
      const items = await listAlerts(deps.db, (t) => inTrial(caller, t), c.req.valid('query'));
      return c.json({ items }, 200);
    },
  );

  for (const action of ['acknowledge', 'resolve'] as const) {
    app.openapi(
      createRoute({
        method: 'post',
        path: `/v1/trials/{trialId}/alerts/{alertId}/${action}`,
        tags: TAGS,
        summary:
          action === 'acknowledge'
            ? 'Acknowledge an alert, with a note'
            : 'Resolve an acknowledged alert, saying what was done',
        request: {
          params: AlertParams,
          body: jsonBody(action === 'acknowledge' ? AcknowledgeBody : ResolveBody),
        },
        responses: {
          200: jsonContent(AlertChange, 'what was recorded'),
          ...errorResponses([404, 409], { body: true }),
        },
      }),
      async (c) => {
        const { trialId, alertId } = c.req.valid('param');
        const caller = authorized(c, 'alerts.act', { trialId });
        const body = c.req.valid('json');
        const text = 'note' in body ? body.note : body.actionTaken;
        const at = deps.now().toISOString();
        const actor = actorOf(caller);
        await handler.handle(
          pairId(trialId, alertId),
          action === 'acknowledge'
            ? { type: 'Acknowledge', alertId, note: text, actor, at }
            : { type: 'Resolve', alertId, actionTaken: text, actor, at },
        );
        const status = action === 'acknowledge' ? 'acknowledged' : 'resolved';
        return c.json({ alertId, trialId, status, at, by: actor, text } as const, 200);
      },
    );
  }
}
