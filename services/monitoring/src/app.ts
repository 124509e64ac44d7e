import {
  createApi,
  DeadLetterDesk,
  deadLetterRoutes,
  type ApiOptions,
  type Connection,
  type Sql,
} from '@cohort/infra';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { alertRefusal, alertRoutes } from './routes/alerts.js';
import { dashboardRoutes, isDashboardPath } from './routes/dashboard.js';
import { liveRoutes } from './routes/live.js';
import { operationRoutes } from './routes/operations.js';
import { trialRoutes } from './routes/trials.js';
import type { MonitoringStores } from './stores.js';

export interface AppDeps extends Pick<ApiOptions, 'auth' | 'metrics' | 'log' | 'ready' | 'info'> {
  /** Monitoring's read models. */
  db: Sql;
  stores: MonitoringStores;
  conn: Connection;
  /** The dead-letter desk, for operators. */
  desk: DeadLetterDesk;
  /** The server's clock: windows close and acknowledgements fall due by it. */
  now: () => Date;
  /** Aborted when the service stops: live event streams end on it (never, when absent). */
  stopping?: AbortSignal;
}

/**
 * The monitoring HTTP app: diary compliance per trial, site and patient; safety alerts that
 * staff acknowledge and resolve; the pipeline's health and the dead letters for operators; a
 * live dashboard at `/`.
 */
export function createApp(deps: AppDeps): OpenAPIHono {
  const app = createApi({
    ...deps,
    service: 'monitoring',
    description:
      "Monitoring: diary compliance against each trial's schedule, safety alerts raised by " +
      "answers and followed to resolution, the pipeline's health, and a live dashboard.",
    mapError: alertRefusal,
    publicPaths: isDashboardPath,
  });
  trialRoutes(app, deps);
  alertRoutes(app, deps);
  operationRoutes(app, deps);
  liveRoutes(app, deps);
  app.route('/v1/dead-letters', deadLetterRoutes(deps.desk, deps.log));
  dashboardRoutes(app);
  return app;
}
