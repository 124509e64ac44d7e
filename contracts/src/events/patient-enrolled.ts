import { z } from 'zod';
import { eventSchema } from '../envelope.js';
import { SubjectToken, UtcInstant } from '../ids.js';
import { ProjectId } from './projects.js';

/**
 * A coordinator enrolled a patient at a site. Written by project-management to the patient's
 * enrolment subject (`projects.<trialId>.patients.<patientId>`); idempotent by `requestId`.
 */
export const PatientEnrolled = eventSchema(
  'PatientEnrolled',
  1,
  z.object({
    trialId: ProjectId,
    patientId: SubjectToken,
    siteId: SubjectToken,
    /** When the patient was enrolled: study day 1 of their diary schedule starts here. */
    enrolledAt: UtcInstant,
    requestId: z.uuid(),
  }),
);
export type PatientEnrolled = z.infer<typeof PatientEnrolled>;
