import { z } from 'zod';
import { EnvelopeFields, eventSchema } from '../envelope.js';
import { SubjectToken } from '../ids.js';
import { ProjectId } from './projects.js';

/** A single answer value a threshold compares with. */
const Scalar = z.union([z.number(), z.string().max(256), z.boolean()]);

/**
 * When an answer needs a clinician: it meets a threshold (`>=`, `<=` on numbers, `=` on any
 * value, one of a list), or it worsened (rose by at least `increase`) against the patient's
 * previous answer to the same item.
 */
export const SafetyCondition = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('at-least'), value: z.number() }),
  z.object({ kind: z.literal('at-most'), value: z.number() }),
  z.object({ kind: z.literal('equals'), value: Scalar }),
  z.object({ kind: z.literal('one-of'), values: z.array(Scalar).min(1).max(100) }),
  z.object({ kind: z.literal('worsening'), increase: z.number().positive() }),
]);
export type SafetyCondition = z.infer<typeof SafetyCondition>;

export const Severity = z.enum(['low', 'medium', 'high']);
export type Severity = z.infer<typeof Severity>;

export const SafetyRule = z.object({
  /** Stable within the trial: setting a rule with the same id replaces it. */
  ruleId: SubjectToken,
  questionnaireId: SubjectToken,
  itemId: SubjectToken,
  condition: SafetyCondition,
  severity: Severity,
  /** An alert not acknowledged within this time is escalated. */
  acknowledgeWithinMinutes: z.number().int().min(1).max(10_080),
});
export type SafetyRule = z.infer<typeof SafetyRule>;

/** The sponsor set (or replaced) a safety rule of the trial; `reason` says why. */
export const SafetyRuleSet = eventSchema(
  'SafetyRuleSet',
  1,
  z.object({ projectId: ProjectId, rule: SafetyRule }),
).extend({ reason: EnvelopeFields.reason.unwrap() });
export type SafetyRuleSet = z.infer<typeof SafetyRuleSet>;
