import { SubjectToken } from './ids.js';

/** Stream names and the subjects they own. */
export const Streams = {
  REPORTS: { name: 'REPORTS', subjects: ['reports.>'] },
  /** Event-sourced trial projects: one subject per project aggregate. */
  PROJECTS: { name: 'PROJECTS', subjects: ['projects.>'] },
  /** JetStream's own advisories that mark a message dead, kept even when no service runs. */
  ADVISORIES: {
    name: 'ADVISORIES',
    subjects: [
      '$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.>',
      '$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.>',
    ],
  },
  /** Dead letters: captured, redriven, discarded; one subject per dead letter. */
  DEADLETTERS: { name: 'DEADLETTERS', subjects: ['deadletters.>'] },
  /** Copies of dead letters sent back to the one consumer that failed them. */
  REDRIVE: { name: 'REDRIVE', subjects: ['redrive.>'] },
  /** Monitoring's decisions: safety alerts and non-compliance, one subject per alert or diary. */
  MONITORING: { name: 'MONITORING', subjects: ['monitoring.>'] },
} as const;

/** Thrown when an ID cannot be used as a subject token. */
export class InvalidSubjectTokenError extends Error {
  override readonly name = 'InvalidSubjectTokenError';
  constructor(
    readonly field: string,
    readonly value: string,
  ) {
    super(`${field} is not a valid subject token: ${JSON.stringify(value)}`);
  }
}

function token(field: string, value: string): string {
  if (!SubjectToken.safeParse(value).success) throw new InvalidSubjectTokenError(field, value);
  return value;
}

/** `reports.<trialId>.<patientId>`: one subject per patient diary. */
export function reportSubject(trialId: string, patientId: string): string {
  return `reports.${token('trialId', trialId)}.${token('patientId', patientId)}`;
}

/** Filter for all reports of one trial. */
export function trialReportsFilter(trialId: string): string {
  return `reports.${token('trialId', trialId)}.*`;
}

/** `deadletters.<id>`: the history of one dead letter. */
export function deadLetterSubject(id: string): string {
  return `deadletters.${token('deadLetterId', id)}`;
}

/** `redrive.<consumer>`: what is sent back to one durable consumer. */
export function redriveSubject(consumer: string): string {
  return `redrive.${token('consumer', consumer)}`;
}

/**
 * Every project's lifecycle subject and none of the subjects below it (protocols, enrolments):
 * a reader of trial statuses takes the last event of each of these.
 */
export const PROJECT_LIFECYCLE_FILTER = 'projects.*';

/** `projects.<trialId>.protocol`: a trial's diary schedule and safety rules. */
export function protocolSubject(trialId: string): string {
  return `projects.${token('trialId', trialId)}.protocol`;
}

/** `projects.<trialId>.patients.<patientId>`: one patient's enrolment in a trial. */
export function enrolmentSubject(trialId: string, patientId: string): string {
  return `projects.${token('trialId', trialId)}.patients.${token('patientId', patientId)}`;
}

/** `monitoring.alerts.<trialId>.<alertId>`: one safety alert, from signal to resolution. */
export function alertSubject(trialId: string, alertId: string): string {
  return `monitoring.alerts.${token('trialId', trialId)}.${token('alertId', alertId)}`;
}

/** `monitoring.compliance.<trialId>.<patientId>`: one diary's non-compliance findings. */
export function complianceSubject(trialId: string, patientId: string): string {
  return `monitoring.compliance.${token('trialId', trialId)}.${token('patientId', patientId)}`;
}

/** `projects.<projectId>`: one project aggregate's events. */
export function projectSubject(projectId: string): string {
  return `projects.${token('projectId', projectId)}`;
}
