import { z } from 'zod';
import { eventSchema } from '../envelope.js';
import { SubjectToken, UtcInstant } from '../ids.js';

/** Most answers one questionnaire submission may carry. */
export const MAX_ANSWERS = 500;

/** Longest unit or app version: room for `mmol/L`, `1.24.0-beta.3+412`, not for prose. */
const MAX_LABEL_LENGTH = 32;

/** One answered item, as v1 had it. Values are JSON scalars or a list of choices. */
export const AnswerV1 = z.object({
  itemId: SubjectToken,
  value: z.union([
    z.string().max(4000),
    z.number(),
    z.boolean(),
    z.null(),
    z.array(z.string().max(256)).max(100),
  ]),
});
export type AnswerV1 = z.infer<typeof AnswerV1>;

/** One answered item; `unit` says what a measured value is in (`kg`, `mmHg`), when it has one. */
export const Answer = AnswerV1.extend({
  unit: z.string().min(1).max(MAX_LABEL_LENGTH).optional(),
});
export type Answer = z.infer<typeof Answer>;

/** The app a diary entry was made in: which platform, which build. */
export const Device = z.object({
  platform: z.enum(['ios', 'android', 'web', 'other']),
  appVersion: z.string().min(1).max(MAX_LABEL_LENGTH),
});
export type Device = z.infer<typeof Device>;

/** The data of `ReportSubmitted` v1: how reports were stored before sites and devices. */
export const ReportSubmittedDataV1 = z.object({
  /** Client-made idempotency key: the same submission retried carries the same requestId. */
  requestId: z.uuid(),
  trialId: SubjectToken,
  patientId: SubjectToken,
  questionnaire: z.object({ id: SubjectToken, version: z.string().min(1).max(32) }),
  answers: z.array(AnswerV1).min(1).max(MAX_ANSWERS),
  /** When the patient completed the questionnaire (UTC). */
  completedAt: UtcInstant,
});
export type ReportSubmittedDataV1 = z.infer<typeof ReportSubmittedDataV1>;

/**
 * The data of `ReportSubmitted` v2: v1's, with answers that may carry a unit, plus where the
 * entry came from. v1's keys keep their order (a submission's content hash depends on it).
 */
export const ReportSubmittedData = ReportSubmittedDataV1.extend({
  answers: z.array(Answer).min(1).max(MAX_ANSWERS),
  /** The site the diary entry came from, or null when the writer did not know it. */
  siteId: SubjectToken.nullable(),
  /** The app the entry was made in, or null when not said (a site's gateway, an old app). */
  device: Device.nullable(),
});
export type ReportSubmittedData = z.infer<typeof ReportSubmittedData>;

/** `ReportSubmitted` v1, kept to read the events stored before v2 (they are upcast on read). */
export const ReportSubmittedV1 = eventSchema('ReportSubmitted', 1, ReportSubmittedDataV1);
export type ReportSubmittedV1 = z.infer<typeof ReportSubmittedV1>;

/** A patient submitted a completed ePRO questionnaire. Written by epro-api to `REPORTS`. */
export const ReportSubmitted = eventSchema('ReportSubmitted', 2, ReportSubmittedData);
export type ReportSubmitted = z.infer<typeof ReportSubmitted>;
