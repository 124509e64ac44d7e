import {
  authorized,
  createApi,
  errorResponses,
  jsonContent,
  notFound,
  validationFailed,
} from '@cohort/infra';
import type { ApiOptions, Sql } from '@cohort/infra';
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import {
  ListQueryChecked,
  PageQueryChecked,
  PatientParams,
  ReportPage,
  TrialParams,
  TrialSummary,
} from './api-schemas.js';
import { InvalidCursorError, listReports, trialSummary } from './queries.js';

export interface AppDeps extends Pick<ApiOptions, 'auth' | 'metrics' | 'log' | 'ready' | 'info'> {
  db: Sql;
}

const TAGS = ['case reports'];

/** The EDC query API over the case-report projection. */
export function createApp(deps: AppDeps): OpenAPIHono {
  const app = createApi({
    ...deps,
    service: 'edc',
    description:
      'Electronic data capture: the case reports of every trial, kept from the REPORTS stream, ' +
      "and each trial's summary and status.",
    mapError: (e) =>
      e instanceof InvalidCursorError
        ? validationFailed([{ path: 'cursor', message: e.message }])
        : undefined,
  });

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/trials/{trialId}/reports',
      tags: TAGS,
      summary: 'Reports of a trial, oldest completion first',
      request: { params: TrialParams, query: ListQueryChecked },
      responses: { 200: jsonContent(ReportPage, 'one page'), ...errorResponses([400]) },
    }),
    async (c) => {
      const { trialId } = c.req.valid('param');
      const query = c.req.valid('query');
      // A patient may read this list filtered to their own diary (`patientId` = their `sub`).
      authorized(c, 'reports.read', { trialId, patientId: query.patientId });
      return c.json(await listReports(deps.db, { ...query, trialId }), 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/trials/{trialId}/patients/{patientId}/reports',
      tags: TAGS,
      summary: "One patient's reports, oldest completion first",
      request: { params: PatientParams, query: PageQueryChecked },
      responses: { 200: jsonContent(ReportPage, 'one page'), ...errorResponses([400]) },
    }),
    async (c) => {
      const { trialId, patientId } = c.req.valid('param');
      authorized(c, 'reports.read', { trialId, patientId });
      return c.json(
        await listReports(deps.db, { ...c.req.valid('query'), trialId, patientId }),
        200,
      );
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/trials/{trialId}/summary',
      tags: TAGS,
      summary: "A trial's report counts, time span and status",
      request: { params: TrialParams },
      responses: {
        200: jsonContent(TrialSummary, 'the summary'),
        ...errorResponses([400, 404]),
      },
    }),
    async (c) => {
      const { trialId } = c.req.valid('param');
      authorized(c, 'trials.summary', { trialId });
      const summary = await trialSummary(deps.db, trialId);
      if (!summary) throw notFound(`no reports for trial ${trialId}`);
      return c.json(summary, 200);
    },
  );
  return app;
}
