import { SubjectToken } from './ids.js';

/** Stream names and the subjects they own. */
export const Streams = {
  REPORTS: { name: 'REPORTS', subjects: ['reports.>'] },
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
