import { z } from 'zod';

/** Longest ID accepted inside a subject token; keeps subjects well under NATS' limits. */
export const MAX_TOKEN_LENGTH = 64;

/**
 * An ID that is safe to place in a NATS subject: no dots, wildcards or whitespace, so a
 * client-supplied ID can never address another subject.
 */
export const SubjectToken = z
  .string()
  .min(1)
  .max(MAX_TOKEN_LENGTH)
  .regex(/^[A-Za-z0-9_-]+$/, 'only letters, digits, "_" and "-" are allowed');

/** UUID v7: time-ordered event IDs. */
export const EventId = z.uuid({ version: 'v7' });

/** Years every reader can store: PostgreSQL has no year 0, and ISO-8601 keeps four digits. */
const MIN_YEAR = 1;
const MAX_YEAR = 9999;

const DATE_PART = /^(\d{4})-(\d{2})-(\d{2})T/;

/** True when `YYYY-MM-DD` names a day of the proleptic Gregorian calendar. */
function isCalendarDate(year: number, month: number, day: number): boolean {
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day); // not Date.UTC, which maps years 0–99 to 1900–1999
  return d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day;
}

/**
 * An ISO-8601 instant in UTC with a trailing `Z` (no offsets), e.g. `2026-01-31T09:00:00.000Z`,
 * on a real calendar day (no `2021-02-30`) in a year from 0001 to 9999.
 */
export const UtcInstant = z.iso
  .datetime({
    offset: false,
    error: (issue) => {
      if (issue.code !== 'invalid_format' || typeof issue.input !== 'string') return undefined;
      const m = DATE_PART.exec(issue.input);
      if (m && !isCalendarDate(Number(m[1]), Number(m[2]), Number(m[3]))) {
        return `${m[1]}-${m[2]}-${m[3]} is not a calendar date`;
      }
      return 'expected a UTC instant like 2026-01-31T09:00:00.000Z';
    },
  })
  .refine((s) => {
    const m = DATE_PART.exec(s);
    return !m || (Number(m[1]) >= MIN_YEAR && Number(m[1]) <= MAX_YEAR);
  }, 'the year must be from 0001 to 9999');

/**
 * The capacity someone acts in: a patient keeping a diary; site staff (coordinator,
 * investigator); the sponsor's monitor and the sponsor; operators of the platform (ops); and
 * systems (a site's device gateway, a service of Cohort's own).
 */
export const Role = z.enum([
  'patient',
  'coordinator',
  'investigator',
  'monitor',
  'sponsor',
  'ops',
  'system',
]);
export type Role = z.infer<typeof Role>;

/** Who did it: the verified caller's id (a token's `sub`) and the role they acted in. */
export const Actor = z.object({
  id: z.string().min(1).max(128),
  role: Role,
});
export type Actor = z.infer<typeof Actor>;
