import { z } from 'zod';
import { eventSchema } from '../envelope.js';
import { SubjectToken, UtcInstant } from '../ids.js';

/** Most answers one questionnaire submission may carry. */
export const MAX_ANSWERS = 500;

/** One answered item. Values are JSON scalars or a list of choices. */
export const Answer = z.object({
  itemId: SubjectToken,
  value: z.union([
    z.string().max(4000),
    z.number(),
    z.boolean(),
    z.null(),
    z.array(z.string().max(256)).max(100),
  ]),
});
export type Answer = z.infer<typeof Answer>;

export const ReportSubmittedData = z.object({
  /** Client-made idempotency key: the same submission retried carries the same requestId. */
  requestId: z.uuid(),
  trialId: SubjectToken,
  patientId: SubjectToken,
  questionnaire: z.object({ id: SubjectToken, version: z.string().min(1).max(32) }),
  answers: z.array(Answer).min(1).max(MAX_ANSWERS),
  /** When the patient completed the questionnaire (UTC). */
  completedAt: UtcInstant,
});
export type ReportSubmittedData = z.infer<typeof ReportSubmittedData>;

/** A patient submitted a completed ePRO questionnaire. Written by epro-api to `REPORTS`. */
export const ReportSubmitted = eventSchema('ReportSubmitted', 1, ReportSubmittedData);
export type ReportSubmitted = z.infer<typeof ReportSubmitted>;
