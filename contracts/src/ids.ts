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

/** An ISO-8601 instant in UTC with a trailing `Z` (no offsets), e.g. `2026-01-31T09:00:00.000Z`. */
export const UtcInstant = z.iso.datetime({ offset: false });

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
