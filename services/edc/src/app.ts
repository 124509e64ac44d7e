import { SubjectToken, UtcInstant } from '@cohort/contracts';
import {
  httpMetrics,
  mountOps,
  validationFailed,
  type Logger,
  type ReadinessCheck,
  type ServiceMetrics,
  type Sql,
} from '@cohort/infra';
import { Hono } from 'hono';
import type { Context } from 'hono';
import { z } from 'zod';
import { InvalidCursorError, listReports, trialSummary } from './queries.js';

/** Page size when none is asked for, and the largest one served. */
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

export interface AppDeps {
  db: Sql;
  metrics: ServiceMetrics;
  log: Logger;
  ready: Record<string, ReadinessCheck>;
  info?: () => Promise<Record<string, unknown>>;
}

const PageQuery = z
  .object({
    from: UtcInstant.optional(),
    to: UtcInstant.optional(),
    limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(DEFAULT_PAGE_SIZE),
    cursor: z.string().max(200).optional(),
  })
  .strict();
const ListQuery = PageQuery.extend({ patientId: SubjectToken.optional() }).strict();

/** The EDC query API over the case-report projection. */
export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  app.use(httpMetrics(deps.metrics));
  mountOps(app, deps.metrics, deps.ready, deps.info);

  const trialParam = (c: Context) => SubjectToken.safeParse(c.req.param('trialId'));

  async function reports(c: Context, patientId?: string) {
    const trial = trialParam(c);
    if (!trial.success)
      return validationFailed(c, [{ path: 'trialId', message: 'invalid trial id' }]);
    const schema = patientId === undefined ? ListQuery : PageQuery;
    const q = schema.safeParse(c.req.query());
    if (!q.success) return validationFailed(c, q.error);
    if (patientId !== undefined && !SubjectToken.safeParse(patientId).success) {
      return validationFailed(c, [{ path: 'patientId', message: 'invalid patient id' }]);
    }
    try {
      const page = await listReports(deps.db, {
        ...q.data,
        trialId: trial.data,
        ...(patientId ? { patientId } : {}),
      });
      return c.json(page);
    } catch (e) {
      if (e instanceof InvalidCursorError)
        return validationFailed(c, [{ path: 'cursor', message: e.message }]);
      throw e;
    }
  }

  app.get('/v1/trials/:trialId/reports', (c) => reports(c));
  app.get('/v1/trials/:trialId/patients/:patientId/reports', (c) =>
    reports(c, c.req.param('patientId')),
  );
  app.get('/v1/trials/:trialId/summary', async (c) => {
    const trial = trialParam(c);
    if (!trial.success)
      return validationFailed(c, [{ path: 'trialId', message: 'invalid trial id' }]);
    const summary = await trialSummary(deps.db, trial.data);
    if (!summary)
      return c.json({ error: 'not_found', message: `no reports for trial ${trial.data}` }, 404);
    return c.json(summary);
  });

  app.notFound((c) => c.json({ error: 'not_found' }, 404));
  app.onError((e, c) => {
    deps.log.error({ err: e }, 'unhandled error');
    return c.json({ error: 'internal' }, 500);
  });
  return app;
}
