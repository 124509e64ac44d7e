import { isDatabaseUnavailable, isDataError } from '../store/database-errors.js';

/**
 * Thrown by a projection for a message that no retry can apply (a reference to something that
 * will never exist, a value the read model cannot hold): the runtime terminates it at once and
 * it becomes a dead letter, instead of being retried until max deliver.
 */
export class PermanentError extends Error {
  override readonly name = 'PermanentError';
}

/**
 * What a failed message needs:
 * - `permanent`: terminate it now (a PermanentError, or a data or constraint error of the
 *   database: SQLSTATE class 22 or 23);
 * - `unavailable`: the database could not be reached; retry once it is back;
 * - `transient`: anything else; retry with backoff until max deliver.
 */
export type FailureClass = 'permanent' | 'transient' | 'unavailable';

/** Classifies an error thrown while applying a message (the inbox's own conflicts excluded). */
export function classifyFailure(e: unknown): FailureClass {
  if (isDatabaseUnavailable(e)) return 'unavailable';
  if (e instanceof PermanentError || isDataError(e)) return 'permanent';
  return 'transient';
}
