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

/** `projects.<projectId>`: one project aggregate's events. */
export function projectSubject(projectId: string): string {
  return `projects.${token('projectId', projectId)}`;
}
