import { createApi, type ApiOptions, type Sql } from '@cohort/infra';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Stores } from './commands.js';
import { refusalAnswer } from './refusals.js';
import { patientRoutes } from './routes/patients.js';
import { projectRoutes } from './routes/projects.js';
import { protocolRoutes } from './routes/protocol.js';

export interface AppDeps extends Pick<ApiOptions, 'auth' | 'metrics' | 'log' | 'ready' | 'info'> {
  stores: Stores;
  /** The service's read models (the portfolio, enrolled patients). */
  db: Sql;
  now?: () => Date;
}

/**
 * The project-management HTTP app: commands on trial projects, their protocols and their
 * patients' enrolments, and the read models.
 */
export function createApp(deps: AppDeps): OpenAPIHono {
  const now = deps.now ?? (() => new Date());
  const app = createApi({
    ...deps,
    service: 'project-management',
    description:
      'Trial projects: an event-sourced lifecycle whose status changes fan out to every ' +
      "service through the PROJECTS stream, each trial's protocol (diary schedule, safety " +
      'rules) and its enrolled patients, and a portfolio of every project.',
    mapError: refusalAnswer,
  });
  projectRoutes(app, deps, now);
  protocolRoutes(app, deps, now);
  patientRoutes(app, deps, now);
  return app;
}
