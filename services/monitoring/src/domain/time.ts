/** Milliseconds in an hour and in a day: a study day is 24 hours from enrolment, not a calendar day. */
export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/** `iso` moved by `ms`, as an ISO instant. */
export function plus(iso: string, ms: number): string {
  return new Date(Date.parse(iso) + ms).toISOString();
}
