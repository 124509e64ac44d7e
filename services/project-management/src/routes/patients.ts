import {
  actorOf,
  authorized,
  errorResponses,
  jsonBody,
  jsonContent,
  validationFailed,
} from '@cohort/infra';
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { EnrolBody, Enrolments, EnrolmentView, IdParams } from '../api-schemas.js';
import type { AppDeps } from '../app.js';
import { enrolments, load } from '../commands.js';
import { enrolmentId } from '../enrolment.js';
import { listEnrolments } from '../portfolio.js';
import { correlation } from './correlation.js';

const TAGS = ['patients'];
/** Clocks drift: an enrolment time this far ahead of the server's is still taken. */
const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/** Enrolment: a coordinator enrols a patient at a site (idempotent by requestId). */
export function patientRoutes(app: OpenAPIHono, deps: AppDeps, now: () => Date): void {
  const handler = enrolments(deps.stores.enrolments);

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/projects/{id}/patients',
      tags: TAGS,
      summary: 'Enrol a patient at a site',
      request: { params: IdParams, body: jsonBody(EnrolBody) },
      responses: {
        201: jsonContent(EnrolmentView, 'enrolled'),
        200: jsonContent(EnrolmentView, 'enrolled before by the same request'),
        ...errorResponses([404, 409], { body: true }),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const b = c.req.valid('json');
      const caller = authorized(c, 'patients.enrol', { trialId: id });
      const at = now();
      if (b.enrolledAt && Date.parse(b.enrolledAt) > at.getTime() + MAX_CLOCK_SKEW_MS) {
        throw validationFailed([{ path: 'enrolledAt', message: 'is in the future' }]);
      }
      const { state: project } = await load(deps.stores.projects, id);
      const r = await handler.handle(enrolmentId(id, b.patientId), {
        type: 'Enrol',
        trialId: id,
        patientId: b.patientId,
        siteId: b.siteId,
        ...(b.enrolledAt ? { enrolledAt: b.enrolledAt } : {}),
        requestId: b.requestId,
        projectStatus: project.exists ? project.status : undefined,
        actor: actorOf(caller),
        at: at.toISOString(),
        ...correlation(c),
      });
      if (!r.state.enrolled) throw new Error('enrolment decided nothing for a new patient');
      const body = {
        trialId: id,
        patientId: b.patientId,
        siteId: r.state.siteId,
        enrolledAt: r.state.enrolledAt,
      };
      return r.appended.length > 0 ? c.json(body, 201) : c.json(body, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/projects/{id}/patients',
      tags: TAGS,
      summary: "The trial's enrolled patients and their sites",
      request: { params: IdParams },
      responses: { 200: jsonContent(Enrolments, 'the patients'), ...errorResponses([400]) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      authorized(c, 'projects.read', { trialId: id });
      return c.json({ items: await listEnrolments(deps.db, id) }, 200);
    },
  );
}
