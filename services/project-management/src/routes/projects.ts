import {
  actorOf,
  authorized,
  errorResponses,
  inTrial,
  jsonBody,
  jsonContent,
  notFound,
} from '@cohort/infra';
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import {
  CreateBody,
  History,
  IdParams,
  Portfolio,
  ProjectView,
  StatusBody,
} from '../api-schemas.js';
import type { AppDeps } from '../app.js';
import { handle, load } from '../commands.js';
import { listPortfolio } from '../portfolio.js';
import type { Project } from '../project.js';
import { correlation } from './correlation.js';

const TAGS = ['projects'];

function view(state: Project & { exists: true }, version: number) {
  return {
    projectId: state.projectId,
    name: state.name,
    status: state.status,
    version,
    createdAt: state.createdAt,
    updatedAt: state.updatedAt,
  };
}

/** Commands on the Project aggregate (create, change status) and its reads. */
export function projectRoutes(app: OpenAPIHono, deps: AppDeps, now: () => Date): void {
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/projects',
      tags: TAGS,
      summary: 'Create a trial project (idempotent by requestId)',
      request: { body: jsonBody(CreateBody) },
      responses: {
        201: jsonContent(ProjectView, 'created'),
        200: jsonContent(ProjectView, 'created before by the same request'),
        ...errorResponses([409], { body: true }),
      },
    }),
    async (c) => {
      const b = c.req.valid('json');
      const caller = authorized(c, 'projects.create', { trialId: b.projectId });
      const r = await handle(deps.stores.projects, {
        type: 'CreateProject',
        ...b,
        actor: actorOf(caller),
        at: now().toISOString(),
        ...correlation(c),
      });
      if (!r.state.exists) throw new Error('created project has no state');
      const body = view(r.state, r.version);
      return r.appended.length > 0 ? c.json(body, 201) : c.json(body, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/projects/{id}/status',
      tags: TAGS,
      summary: "Change a project's status, at the version you decided on",
      request: { params: IdParams, body: jsonBody(StatusBody) },
      responses: {
        200: jsonContent(ProjectView, 'changed'),
        ...errorResponses([404, 409, 422], { body: true }),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const b = c.req.valid('json');
      const caller = authorized(c, 'projects.change-status', { trialId: id });
      const r = await handle(
        deps.stores.projects,
        {
          type: 'ChangeStatus',
          projectId: id,
          to: b.to,
          actor: actorOf(caller),
          at: now().toISOString(),
          reason: b.reason,
          ...(b.effectiveAt !== undefined ? { effectiveAt: b.effectiveAt } : {}),
          ...correlation(c),
        },
        b.expectedVersion,
      );
      if (!r.state.exists) throw new Error('changed project has no state');
      return c.json(view(r.state, r.version), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/projects',
      tags: TAGS,
      summary: 'Every project with its status and report count',
      responses: { 200: jsonContent(Portfolio, 'the portfolio'), ...errorResponses([]) },
    }),
    async (c) => {
      const caller = authorized(c, 'projects.list');
      const items = await listPortfolio(deps.db);
      return c.json({ items: items.filter((p) => inTrial(caller, p.projectId)) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/projects/{id}',
      tags: TAGS,
      summary: 'One project',
      request: { params: IdParams },
      responses: { 200: jsonContent(ProjectView, 'the project'), ...errorResponses([400, 404]) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      authorized(c, 'projects.read', { trialId: id });
      const { state, version } = await load(deps.stores.projects, id);
      if (!state.exists) throw notFound(`no project ${id}`);
      return c.json(view(state, version), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/projects/{id}/history',
      tags: TAGS,
      summary: 'Every change of a project: who, when, why',
      request: { params: IdParams },
      responses: { 200: jsonContent(History, 'the history'), ...errorResponses([400, 404]) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      authorized(c, 'projects.read', { trialId: id });
      const { state, events } = await load(deps.stores.projects, id);
      if (!state.exists) throw notFound(`no project ${id}`);
      return c.json(
        {
          projectId: state.projectId,
          items: events.map(({ version, event: e }) => ({
            version,
            type: e.type,
            at: e.recordedAt,
            actor: e.actor,
            from: e.type === 'ProjectStatusChanged' ? e.data.from : null,
            to: e.type === 'ProjectStatusChanged' ? e.data.to : e.data.status,
            reason: e.reason ?? null,
            effectiveAt: e.type === 'ProjectStatusChanged' ? e.data.effectiveAt : e.occurredAt,
          })),
        },
        200,
      );
    },
  );
}
