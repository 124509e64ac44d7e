import { Actor, ProjectId, ProjectStatus, UtcInstant } from '@cohort/contracts';
import {
  ConcurrencyError,
  httpMetrics,
  mountOps,
  validationFailed,
  PublishError,
  readJson,
  type EventStore,
  type Logger,
  type ReadinessCheck,
  type ServiceMetrics,
  type Sql,
} from '@cohort/infra';
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { handle, load } from './commands.js';
import { listPortfolio } from './portfolio.js';
import { CommandRefused, type Project } from './project.js';

export interface AppDeps {
  store: EventStore;
  db: Sql;
  metrics: ServiceMetrics;
  log: Logger;
  ready: Record<string, ReadinessCheck>;
  /** Facts shown by /readyz that do not decide readiness (each consumer's lag). */
  info?: () => Promise<Record<string, unknown>>;
  now?: () => Date;
}

const CreateBody = z
  .object({
    requestId: z.uuid(),
    projectId: ProjectId,
    name: z.string().min(1).max(200),
    actor: Actor,
  })
  .strict();
const StatusBody = z
  .object({
    to: ProjectStatus,
    reason: z.string().min(1).max(1000),
    expectedVersion: z.number().int().nonnegative(),
    actor: Actor,
    effectiveAt: UtcInstant.optional(),
  })
  .strict();

/** 400 for a project id that cannot be one (it could not name a subject). */
function invalidId(c: Context) {
  return validationFailed(c, [{ path: 'id', message: 'invalid project id' }]);
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

/** The project-management HTTP app: commands on the Project aggregate and its read models. */
export function createApp(deps: AppDeps): Hono {
  const now = deps.now ?? (() => new Date());
  const app = new Hono();
  app.use(httpMetrics(deps.metrics));
  mountOps(app, deps.metrics, deps.ready, deps.info);

  app.post('/v1/projects', async (c) => {
    const b = await readJson(c, CreateBody);
    if (b instanceof Response) return b;
    const r = await handle(deps.store, {
      type: 'CreateProject',
      ...b,
      at: now().toISOString(),
      ...correlation(c),
    });
    if (!r.state.exists) throw new Error('created project has no state');
    return c.json(view(r.state, r.version), r.appended.length > 0 ? 201 : 200);
  });

  app.post('/v1/projects/:id/status', async (c) => {
    const id = ProjectId.safeParse(c.req.param('id'));
    if (!id.success) return invalidId(c);
    const b = await readJson(c, StatusBody);
    if (b instanceof Response) return b;
    const r = await handle(
      deps.store,
      {
        type: 'ChangeStatus',
        projectId: id.data,
        to: b.to,
        actor: b.actor,
        at: now().toISOString(),
        ...(b.effectiveAt !== undefined ? { effectiveAt: b.effectiveAt } : {}),
        ...correlation(c),
        ...(b.reason !== undefined ? { reason: b.reason } : {}),
      },
      b.expectedVersion,
    );
    if (!r.state.exists) throw new Error('changed project has no state');
    return c.json(view(r.state, r.version));
  });

  app.get('/v1/projects', async (c) => c.json({ items: await listPortfolio(deps.db) }));

  app.get('/v1/projects/:id', async (c) => {
    const id = ProjectId.safeParse(c.req.param('id'));
    if (!id.success) return invalidId(c);
    const { state, version } = await load(deps.store, id.data);
    if (!state.exists) return c.json({ error: 'not_found' }, 404);
    return c.json(view(state, version));
  });

  app.get('/v1/projects/:id/history', async (c) => {
    const id = ProjectId.safeParse(c.req.param('id'));
    if (!id.success) return invalidId(c);
    const { state, events } = await load(deps.store, id.data);
    if (!state.exists) return c.json({ error: 'not_found' }, 404);
    return c.json({
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
    });
  });

  app.notFound((c) => c.json({ error: 'not_found' }, 404));
  app.onError((e, c) => {
    if (e instanceof CommandRefused) {
      const r = e.refusal;
      switch (r.kind) {
        case 'not-found':
          return c.json({ error: 'not_found', projectId: r.projectId }, 404);
        case 'already-exists':
          return c.json(
            {
              error: 'already_exists',
              message: `project ${r.projectId} exists (another requestId)`,
            },
            409,
          );
        case 'request-conflict':
          return c.json(
            {
              error: 'request_id_conflict',
              message: 'this requestId was already used for a different project',
              requestId: r.requestId,
            },
            409,
          );
        case 'transition-not-allowed':
          return c.json(
            {
              error: 'transition_not_allowed',
              message: `${r.from} -> ${r.to} is not allowed; from ${r.from}: ${r.allowed.join(', ') || 'nothing (final)'}`,
              from: r.from,
              to: r.to,
              allowed: r.allowed,
            },
            422,
          );
        case 'reason-required':
          return validationFailed(c, [
            { path: 'reason', message: `a reason is required to move to ${r.to}` },
          ]);
      }
    }
    if (e instanceof ConcurrencyError) {
      return c.json(
        {
          error: 'version_conflict',
          message: `the project is at version ${e.currentVersion}; reload it and decide again`,
          currentVersion: e.currentVersion,
        },
        409,
      );
    }
    if (e instanceof PublishError && e.retryable) {
      c.header('Retry-After', '2');
      return c.json(
        { error: 'unavailable', message: 'the event store is unavailable; retry later' },
        503,
      );
    }
    deps.log.error({ err: e }, 'unhandled error');
    return c.json({ error: 'internal' }, 500);
  });
  return app;
}
