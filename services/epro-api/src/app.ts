import { SubmitReport } from '@cohort/contracts';
import {
  httpMetrics,
  mountOps,
  validationFailed,
  PublishError,
  readJson,
  RequestConflictError,
  type Logger,
  type ReadinessCheck,
  type ServiceMetrics,
} from '@cohort/infra';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { REPORTS_STREAM, submitReport, type Ingest } from './submit-report.js';
import { ACCEPTING, type TrialStatuses } from './trial-status.js';

/** A questionnaire of 500 free-text answers fits; anything larger is not a diary entry. */
export const DEFAULT_BODY_LIMIT_BYTES = 256 * 1024;
/** Phones' clocks drift; a completion time this far ahead of ours is still accepted. */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 5 * 60_000;
/** What a client is told to wait before retrying when JetStream cannot take the event. */
export const RETRY_AFTER_SECONDS = 2;

export interface AppDeps {
  ingest: Ingest;
  trials: TrialStatuses;
  metrics: ServiceMetrics;
  log: Logger;
  ready: Record<string, ReadinessCheck>;
  now?: () => number;
  bodyLimitBytes?: number;
  maxClockSkewMs?: number;
}

/** The epro-api HTTP app: `POST /v1/reports` plus health, readiness and metrics. */
export function createApp(deps: AppDeps): Hono {
  const now = deps.now ?? Date.now;
  const maxSkew = deps.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS;
  const app = new Hono();
  app.use(httpMetrics(deps.metrics));
  mountOps(app, deps.metrics, deps.ready);

  app.post(
    '/v1/reports',
    bodyLimit({
      maxSize: deps.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
      onError: (c) =>
        c.json(
          {
            error: 'payload_too_large',
            limitBytes: deps.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
          },
          413,
        ),
    }),
    async (c) => {
      const type = c.req.header('content-type') ?? '';
      if (!/^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(type)) {
        return c.json({ error: 'unsupported_media_type', expected: 'application/json' }, 415);
      }
      const body = await readJson(c, SubmitReport);
      if (body instanceof Response) return body;
      if (Date.parse(body.completedAt) > now() + maxSkew) {
        return validationFailed(c, [{ path: 'completedAt', message: 'is in the future' }]);
      }
      const correlationId = c.req.header('x-correlation-id')?.slice(0, 128) || body.requestId;
      const start = performance.now();
      try {
        const status = deps.trials.status(body.trialId);
        if (status === undefined || !ACCEPTING.includes(status)) {
          // A retry of a report stored while the trial was open still gets its original answer.
          const earlier = await deps.ingest.find(body.requestId, body);
          if (earlier) return c.json({ ...earlier, requestId: body.requestId }, 202);
          if (status === undefined) {
            return c.json(
              {
                error: 'unknown_trial',
                message: `no trial ${body.trialId}`,
                trialId: body.trialId,
              },
              404,
            );
          }
          return c.json(
            {
              error: 'trial_not_accepting',
              message: `trial ${body.trialId} is ${status}; reports are accepted while it is ${ACCEPTING.join(' or ')}`,
              trialId: body.trialId,
              status,
            },
            409,
          );
        }
        const accepted = await submitReport(deps.ingest, body, correlationId);
        deps.metrics.publishDuration.observe(
          { stream: REPORTS_STREAM, outcome: accepted.duplicate ? 'duplicate' : 'stored' },
          (performance.now() - start) / 1000,
        );
        return c.json(accepted, 202);
      } catch (e) {
        const elapsed = (performance.now() - start) / 1000;
        if (e instanceof RequestConflictError) {
          deps.metrics.publishDuration.observe(
            { stream: REPORTS_STREAM, outcome: 'conflict' },
            elapsed,
          );
          return c.json(
            {
              error: 'request_id_conflict',
              message: 'this requestId was already used for a different submission',
              requestId: e.requestId,
              eventId: e.eventId,
            },
            409,
          );
        }
        deps.metrics.publishDuration.observe(
          { stream: REPORTS_STREAM, outcome: 'failed' },
          elapsed,
        );
        if (e instanceof PublishError && e.retryable) {
          deps.log.warn(
            { err: e.message, requestId: body.requestId, correlationId },
            'publish failed',
          );
          c.header('Retry-After', String(RETRY_AFTER_SECONDS));
          return c.json(
            {
              error: 'unavailable',
              message: 'the event store is unavailable; retry later with the same requestId',
            },
            503,
          );
        }
        throw e;
      }
    },
  );

  app.notFound((c) => c.json({ error: 'not_found' }, 404));
  app.onError((e, c) => {
    deps.log.error({ err: e }, 'unhandled error');
    return c.json(
      { error: 'internal', message: 'unexpected error; retry with the same requestId' },
      500,
    );
  });
  return app;
}
