import { z } from 'zod';
import { EnvelopeFields, eventSchema } from '../envelope.js';
import { SubjectToken, UtcInstant } from '../ids.js';
import { NonComplianceRule } from './diary-schedule.js';

/**
 * A patient's diary breached the trial's non-compliance rule. Written by monitoring once per
 * patient and breach (`breachId`: the window that started it) to
 * `monitoring.compliance.<trialId>.<patientId>`.
 */
export const NonComplianceDetected = eventSchema(
  'NonComplianceDetected',
  1,
  z.object({
    trialId: SubjectToken,
    patientId: SubjectToken,
    siteId: SubjectToken.nullable(),
    /** The due time of the first window of the breach: a new breach starts after compliance. */
    breachId: UtcInstant,
    rule: NonComplianceRule,
    /** On-time entries over the windows the rule looks at, in percent. */
    compliancePercent: z.number().min(0).max(100),
    missedInARow: z.number().int().nonnegative(),
  }),
).extend({ reason: EnvelopeFields.reason.unwrap() });
export type NonComplianceDetected = z.infer<typeof NonComplianceDetected>;
