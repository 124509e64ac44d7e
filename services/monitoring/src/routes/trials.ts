import { authorized, errorResponses, inTrial, jsonContent, notFound } from '@cohort/infra';
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import {
  Finding,
  PatientParams,
  PatientRow,
  Submissions,
  SubmissionsQuery,
  Timeline,
  TrialDetail,
  TrialOverview,
  TrialParams,
} from '../api-schemas.js';
import type { AppDeps } from '../app.js';
import {
  listFindings,
  listTrials,
  patientTable,
  submissionsPerMinute,
  timeline,
  trialDetail,
} from '../queries.js';

const TAGS = ['compliance'];

/** Compliance: trials, sites, patients and their timelines, submissions, findings. */
export function trialRoutes(app: OpenAPIHono, deps: AppDeps): void {
  const now = () => deps.now().toISOString();
  const absent = (trialId: string) => notFound(`monitoring knows no trial ${trialId}`);

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/trials',
      tags: TAGS,
      summary: 'Every trial you may see: compliance, patients, open alerts',
      responses: {
        200: jsonContent(z.object({ items: z.array(TrialOverview) }), 'the trials'),
        ...errorResponses([]),
      },
    }),
    async (c) => {
      const caller = authorized(c, 'monitoring.list');
      return c.json({ items: await listTrials(deps.db, (t) => inTrial(caller, t), now()) }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/trials/{trialId}',
      tags: TAGS,
      summary: "A trial's overview and its sites",
      request: { params: TrialParams },
      responses: { 200: jsonContent(TrialDetail, 'the trial'), ...errorResponses([400, 404]) },
    }),
    async (c) => {
      const { trialId } = c.req.valid('param');
      authorized(c, 'monitoring.read', { trialId });
      const detail = await trialDetail(deps.db, trialId, now());
      if (!detail) throw absent(trialId);
      return c.json(detail, 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/trials/{trialId}/patients',
      tags: TAGS,
      summary: "Each patient's compliance",
      request: { params: TrialParams },
      responses: {
        200: jsonContent(z.object({ items: z.array(PatientRow) }), 'the patients'),
        ...errorResponses([400, 404]),
      },
    }),
    async (c) => {
      const { trialId } = c.req.valid('param');
      authorized(c, 'monitoring.read', { trialId });
      const items = await patientTable(deps.db, trialId, now());
      if (!items) throw absent(trialId);
      return c.json({ items }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/trials/{trialId}/patients/{patientId}/timeline',
      tags: TAGS,
      summary: "A patient's expected entries and what became of each",
      request: { params: PatientParams },
      responses: { 200: jsonContent(Timeline, 'the timeline'), ...errorResponses([400, 404]) },
    }),
    async (c) => {
      const { trialId, patientId } = c.req.valid('param');
      authorized(c, 'monitoring.read', { trialId });
      const t = await timeline(deps.db, trialId, patientId, now());
      if (!t) throw notFound(`monitoring knows no patient ${patientId} in ${trialId}`);
      return c.json(t, 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/trials/{trialId}/submissions',
      tags: TAGS,
      summary: 'Reports recorded per minute, over the last hour by default',
      request: { params: TrialParams, query: SubmissionsQuery },
      responses: { 200: jsonContent(Submissions, 'per minute'), ...errorResponses([400]) },
    }),
    async (c) => {
      const { trialId } = c.req.valid('param');
      authorized(c, 'monitoring.read', { trialId });
      const { minutes } = c.req.valid('query');
      const perMinute = await submissionsPerMinute(deps.db, trialId, now(), minutes);
      return c.json({ trialId, perMinute }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/trials/{trialId}/findings',
      tags: TAGS,
      summary: 'Non-compliance findings, newest first',
      request: { params: TrialParams },
      responses: {
        200: jsonContent(z.object({ items: z.array(Finding) }), 'the findings'),
        ...errorResponses([400]),
      },
    }),
    async (c) => {
      const { trialId } = c.req.valid('param');
      authorized(c, 'monitoring.read', { trialId });
      return c.json({ items: await listFindings(deps.db, trialId) }, 200);
    },
  );
}
