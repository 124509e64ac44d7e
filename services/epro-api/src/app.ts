import { SubmitReport } from '@cohort/contracts';
import {
  actorOf,
  authorized,
  conflict,
  createApi,
  errorResponses,
  jsonBody,
  jsonContent,
  HttpError,
  RequestConflictError,
  validationFailed,
  type ApiOptions,
} from '@cohort/infra';
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import { REPORTS_STREAM, submitReport, type Ingest } from './submit-report.js';
import { ACCEPTING, type TrialStatuses } from './trial-status.js';

/** A questionnaire of 500 free-text answers fits; anything larger is not a diary entry. */
export const DEFAULT_BODY_LIMIT_BYTES = 256 * 1024;
/** Phones' clocks drift; a completion time this far ahead of ours is still accepted. */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 5 * 60_000;

export interface AppDeps extends Pick<ApiOptions, 'auth' | 'metrics' | 'log' | 'ready'> {
  ingest: Ingest;
  trials: TrialStatuses;
  now?: () => number;
  bodyLimitBytes?: number;
  maxClockSkewMs?: number;
}

const Accepted = z
  .object({
    eventId: z.uuid(),
    requestId: z.uuid(),
    stream: z.string(),
    seq: z.number().int().positive(),
    duplicate: z.boolean().meta({ description: 'the same request was stored before' }),
  })
  .meta({ id: 'Accepted' });

const submit = createRoute({
  method: 'post',
  path: '/v1/reports',
  tags: ['reports'],
  summary: 'Submit a completed questionnaire',
  description:
    'Stored durably as one ReportSubmitted event before the answer. Retry with the same ' +
    'requestId until you get a 202: a retry never stores a second copy.',
  request: { body: jsonBody(SubmitReport) },
  responses: {
    202: jsonContent(Accepted, 'stored (or stored before, `duplicate: true`)'),
    ...errorResponses([404, 409], { body: true }),
  },
});

/** The epro-api HTTP app: `POST /v1/reports` plus health, readiness, metrics and docs. */
export function createApp(deps: AppDeps): OpenAPIHono {
  const now = deps.now ?? Date.now;
  const maxSkew = deps.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS;
  const app = createApi({
    ...deps,
    service: 'epro-api',
    description:
      'ePRO ingest: validates questionnaire submissions and stores each once, durably, in ' +
      'JetStream before answering.',
    bodyLimitBytes: deps.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
  });

  app.openapi(submit, async (c) => {
    const body = c.req.valid('json');
    const caller = authorized(c, 'reports.submit', {
      trialId: body.trialId,
      patientId: body.patientId,
    });
    if (Date.parse(body.completedAt) > now() + maxSkew) {
      throw validationFailed([{ path: 'completedAt', message: 'is in the future' }]);
    }
    // Nobody completes a diary of a trial that did not exist yet: a clock or a client is wrong.
    const created = deps.trials.status(body.trialId) && (await deps.trials.createdAt(body.trialId));
    if (created && Date.parse(body.completedAt) < Date.parse(created) - maxSkew) {
      throw validationFailed([
        { path: 'completedAt', message: `is before the trial was created (${created})` },
      ]);
    }
    const correlationId = c.req.header('x-correlation-id')?.slice(0, 128) || body.requestId;
    const start = performance.now();
    const observe = (outcome: string) =>
      deps.metrics.publishDuration.observe(
        { stream: REPORTS_STREAM, outcome },
        (performance.now() - start) / 1000,
      );
    const status = deps.trials.status(body.trialId);
    if (status === undefined || !ACCEPTING.includes(status)) {
      // A retry of a report stored while the trial was open still gets its original answer.
      const earlier = await deps.ingest.find(body.requestId, body);
      if (earlier) return c.json({ ...earlier, requestId: body.requestId }, 202);
      if (status === undefined) {
        throw new HttpError(404, 'unknown_trial', `no trial ${body.trialId}`, {
          trialId: body.trialId,
        });
      }
      throw conflict(
        'trial_not_accepting',
        `trial ${body.trialId} is ${status}; reports are accepted while it is ${ACCEPTING.join(' or ')}`,
        { trialId: body.trialId, status },
      );
    }
    try {
      const accepted = await submitReport(deps.ingest, body, actorOf(caller), correlationId);
      observe(accepted.duplicate ? 'duplicate' : 'stored');
      return c.json(accepted, 202);
    } catch (e) {
      observe(e instanceof RequestConflictError ? 'conflict' : 'failed');
      throw e;
    }
  });
  return app;
}
