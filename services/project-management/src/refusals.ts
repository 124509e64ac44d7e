import { HttpError, notFound, validationFailed } from '@cohort/infra';
import { CommandRefused } from './project.js';

/** The aggregates' refusals as answers. */
export function refusalAnswer(e: unknown): HttpError | undefined {
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
        'this requestId was already used for a different request',
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
    case 'not-allowed-in-status':
      return new HttpError(
        409,
        'not_allowed_in_status',
        `trial ${r.projectId} is ${r.status}; this is allowed while it is ${r.allowed.join(', ')}`,
        { status: r.status, allowed: r.allowed },
      );
    case 'already-enrolled':
      return new HttpError(
        409,
        'already_enrolled',
        `patient ${r.patientId} is enrolled (by another requestId)`,
        { patientId: r.patientId },
      );
  }
}
