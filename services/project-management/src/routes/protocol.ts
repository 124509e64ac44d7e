import {
  actorOf,
  authorized,
  errorResponses,
  jsonBody,
  jsonContent,
  notFound,
} from '@cohort/infra';
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { IdParams, ProtocolView, RuleBody, RuleParams, ScheduleBody } from '../api-schemas.js';
import type { AppDeps } from '../app.js';
import { load, protocols } from '../commands.js';
import type { Protocol } from '../protocol.js';
import { correlation } from './correlation.js';

const TAGS = ['protocol'];

function view(projectId: string, state: Protocol, version: number) {
  return { projectId, version, schedule: state.schedule, rules: Object.values(state.rules) };
}

const answers = {
  200: jsonContent(ProtocolView, 'the protocol after the change'),
  ...errorResponses([404, 409], { body: true }),
};

/** A trial's protocol: the sponsor sets its diary schedule and safety rules; staff read it. */
export function protocolRoutes(app: OpenAPIHono, deps: AppDeps, now: () => Date): void {
  const handler = protocols(deps.stores.protocols);
  const status = async (id: string) => {
    const { state } = await load(deps.stores.projects, id);
    return state.exists ? state.status : undefined;
  };

  app.openapi(
    createRoute({
      method: 'put',
      path: '/v1/projects/{id}/schedule',
      tags: TAGS,
      summary: "Set the trial's diary schedule and its non-compliance rule",
      request: { params: IdParams, body: jsonBody(ScheduleBody) },
      responses: answers,
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { reason, ...schedule } = c.req.valid('json');
      const caller = authorized(c, 'protocol.set', { trialId: id });
      const r = await handler.handle(id, {
        type: 'SetDiarySchedule',
        projectId: id,
        projectStatus: await status(id),
        schedule,
        reason,
        actor: actorOf(caller),
        at: now().toISOString(),
        ...correlation(c),
      });
      return c.json(view(id, r.state, r.version), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'put',
      path: '/v1/projects/{id}/safety-rules/{ruleId}',
      tags: TAGS,
      summary: 'Set a safety rule: a threshold on an answer, or its worsening',
      request: { params: RuleParams, body: jsonBody(RuleBody) },
      responses: answers,
    }),
    async (c) => {
      const { id, ruleId } = c.req.valid('param');
      const { reason, ...rule } = c.req.valid('json');
      const caller = authorized(c, 'protocol.set', { trialId: id });
      const r = await handler.handle(id, {
        type: 'SetSafetyRule',
        projectId: id,
        projectStatus: await status(id),
        rule: { ruleId, ...rule },
        reason,
        actor: actorOf(caller),
        at: now().toISOString(),
        ...correlation(c),
      });
      return c.json(view(id, r.state, r.version), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/projects/{id}/protocol',
      tags: TAGS,
      summary: "The trial's diary schedule and safety rules",
      request: { params: IdParams },
      responses: { 200: jsonContent(ProtocolView, 'the protocol'), ...errorResponses([400, 404]) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      authorized(c, 'projects.read', { trialId: id });
      if ((await status(id)) === undefined) throw notFound(`no project ${id}`);
      const { state, version } = await handler.load(id);
      return c.json(view(id, state, version), 200);
    },
  );
}
