/** Milliseconds in an hour and in a day: a study day is 24 hours from enrolment, not a calendar day. */
export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/**
 * The instant `iso` in epoch milliseconds. Instants are compared as numbers, never as strings:
 * `…:00Z` and `…:00.000Z` name the same instant but do not sort together as text. Throws a
 * RangeError on text that is not an instant, so a bad input fails loudly instead of comparing
 * false with everything (NaN).
 */
export function msOf(iso: string): number {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new RangeError(`not an instant: ${JSON.stringify(iso)}`);
  return ms;
}

/** Epoch milliseconds as an ISO instant in UTC with milliseconds, e.g. `2026-01-31T09:00:00.000Z`. */
export function isoOf(ms: number): string {
  return new Date(ms).toISOString();
}

/** `iso` moved by `ms`, as an ISO instant. */
export function plus(iso: string, ms: number): string {
  return isoOf(msOf(iso) + ms);
}
