import { z } from 'zod';
import { EnvelopeFields, eventSchema } from '../envelope.js';
import { SubjectToken } from '../ids.js';
import { ProjectId } from './projects.js';

/** Longest study a schedule plans for, in days: ten years. */
export const MAX_STUDY_DAYS = 3_650;

/**
 * How often an entry is expected, counted in study days from enrolment (day 1 is the day the
 * patient was enrolled): every N days from day 1, or on the given study days.
 */
export const DiaryFrequency = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('every'), days: z.number().int().min(1).max(365) }),
  z.object({
    kind: z.literal('on'),
    days: z
      .array(z.number().int().min(1).max(MAX_STUDY_DAYS))
      .min(1)
      .max(500)
      .refine((d) => d.every((x, i) => i === 0 || x > d[i - 1]!), 'days must be increasing'),
  }),
]);
export type DiaryFrequency = z.infer<typeof DiaryFrequency>;

/**
 * When a patient is non-compliant: below a percentage of on-time entries over the last N closed
 * windows, or K windows missed in a row. Protocols commonly set 80%.
 */
export const NonComplianceRule = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('below-percent'),
    percent: z.number().min(1).max(100),
    windows: z.number().int().min(1).max(365),
  }),
  z.object({ kind: z.literal('missed-in-a-row'), count: z.number().int().min(1).max(365) }),
]);
export type NonComplianceRule = z.infer<typeof NonComplianceRule>;

export const DiaryScheduleSetData = z.object({
  projectId: ProjectId,
  /** The questionnaire patients fill in on this schedule. */
  questionnaireId: SubjectToken,
  frequency: DiaryFrequency,
  /** An entry counts when completed within this many hours of its due time. */
  windowHours: z.number().int().min(1).max(168),
  nonCompliance: NonComplianceRule,
});
export type DiaryScheduleSetData = z.infer<typeof DiaryScheduleSetData>;

/**
 * The sponsor set (or replaced) the trial's diary schedule. Written by project-management to the
 * project's subject; `reason` says why.
 */
export const DiaryScheduleSet = eventSchema('DiaryScheduleSet', 1, DiaryScheduleSetData).extend({
  reason: EnvelopeFields.reason.unwrap(),
});
export type DiaryScheduleSet = z.infer<typeof DiaryScheduleSet>;
