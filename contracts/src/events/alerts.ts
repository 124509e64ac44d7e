import { z } from 'zod';
import { EnvelopeFields, eventSchema } from '../envelope.js';
import { SubjectToken, UtcInstant } from '../ids.js';
import { Answer } from './report-submitted.js';
import { SafetyCondition, Severity } from './safety-rule.js';

/** `al-<hash>`: one per report and rule, the same however often the report is applied. */
export const AlertId = z.string().regex(/^al-[0-9a-f]{32}$/, 'an alert id looks like al-<32 hex>');

/**
 * A report met a safety rule: an alert is open. Written by monitoring, exactly once per report
 * and rule, to `monitoring.alerts.<trialId>.<alertId>`.
 */
export const SafetySignalRaised = eventSchema(
  'SafetySignalRaised',
  1,
  z.object({
    alertId: AlertId,
    trialId: SubjectToken,
    patientId: SubjectToken,
    /** Where the patient was enrolled, when monitoring knew it. */
    siteId: SubjectToken.nullable(),
    ruleId: SubjectToken,
    condition: SafetyCondition,
    severity: Severity,
    /** The report that met the rule. */
    reportEventId: z.uuid(),
    requestId: z.uuid(),
    questionnaireId: SubjectToken,
    itemId: SubjectToken,
    value: Answer.shape.value,
    /** The patient's previous answer to the item, for a worsening rule. */
    previousValue: Answer.shape.value.optional(),
    completedAt: UtcInstant,
    /** Escalated when not acknowledged by then. */
    acknowledgeBy: UtcInstant,
  }),
);
export type SafetySignalRaised = z.infer<typeof SafetySignalRaised>;

/** Staff saw the alert; `note` says what they saw. */
export const AlertAcknowledged = eventSchema(
  'AlertAcknowledged',
  1,
  z.object({ alertId: AlertId, trialId: SubjectToken, note: z.string().min(1).max(2000) }),
).extend({ reason: EnvelopeFields.reason.unwrap() });
export type AlertAcknowledged = z.infer<typeof AlertAcknowledged>;

/** Staff closed the alert; `actionTaken` says what was done for the patient. */
export const AlertResolved = eventSchema(
  'AlertResolved',
  1,
  z.object({ alertId: AlertId, trialId: SubjectToken, actionTaken: z.string().min(1).max(2000) }),
).extend({ reason: EnvelopeFields.reason.unwrap() });
export type AlertResolved = z.infer<typeof AlertResolved>;

/** Nobody acknowledged the alert in time: escalated once. */
export const AlertEscalated = eventSchema(
  'AlertEscalated',
  1,
  z.object({ alertId: AlertId, trialId: SubjectToken, acknowledgeBy: UtcInstant }),
).extend({ reason: EnvelopeFields.reason.unwrap() });
export type AlertEscalated = z.infer<typeof AlertEscalated>;
