import {
  actorOf,
  authorized,
  createApi,
  inTrial,
  errorResponses,
  HttpError,
  jsonBody,
  jsonContent,
  notFound,
  validationFailed,
  type ApiOptions,
  type EventStore,
  type Sql,
} from '@cohort/infra';
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import {
  CreateBody,
  History,
  IdParams,
  Portfolio,
  ProjectView,
  StatusBody,
} from './api-schemas.js';
import { handle, load } from './commands.js';
import { listPortfolio } from './portfolio.js';
import { CommandRefused, type Project } from './project.js';

export interface AppDeps extends Pick<ApiOptions, 'auth' | 'metrics' | 'log' | 'ready' | 'info'> {
  store: EventStore;
  db: Sql;
  now?: () => Date;
}

/** The caller's `X-Correlation-Id`, when it sent a non-empty one. */
function correlation(c: Context): { correlationId?: string } {
  const id = c.req.header('x-correlation-id')?.slice(0, 128);
  return id ? { correlationId: id } : {};
}

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

/** The Project aggregate's refusals as answers. */
function refusal(e: unknown): HttpError | undefined {
  if (!(e instanceof CommandRefused)) return undefined;
  const r = e.refusal;
  switch (r.kind) {
    case 'not-found':
      return notFound(`no project ${r.projectId}`, { projectId: r.projectId });
    case 'already-exists':
      return new HttpError(
        409,
        'already_exists',
        `project ${r.projectId} exists (another requestId)`,
      );
    case 'request-conflict':
      return new HttpError(
        409,
        'request_id_conflict',
        'this requestId was already used for a different project',
        { requestId: r.requestId },
      );
    case 'transition-not-allowed':
      return new HttpError(
        422,
        'transition_not_allowed',
        `${r.from} -> ${r.to} is not allowed; from ${r.from}: ${r.allowed.join(', ') || 'nothing (final)'}`,
        { from: r.from, to: r.to, allowed: r.allowed },
      );
    case 'reason-required':
      return validationFailed([
        { path: 'reason', message: `a reason is required to move to ${r.to}` },
      ]);
  }
}

const TAGS = ['projects'];

/** The project-management HTTP app: commands on the Project aggregate and its read models. */
export function createApp(deps: AppDeps): OpenAPIHono {
  const now = deps.now ?? (() => new Date());
  const app = createApi({
    ...deps,
    service: 'project-management',
    description:
      'Trial projects: an event-sourced lifecycle whose status changes fan out to every ' +
      'service through the PROJECTS stream, and a portfolio of every project.',
    mapError: refusal,
  });

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
      const r = await handle(deps.store, {
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
        deps.store,
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
      const { state, version } = await load(deps.store, id);
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
      const { state, events } = await load(deps.store, id);
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
  return app;
}
