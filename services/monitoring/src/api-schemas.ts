import { Actor, AlertId, SubjectToken, UtcInstant } from '@cohort/contracts';
import { z } from 'zod';

export const TrialParams = z.object({ trialId: SubjectToken });
export const PatientParams = TrialParams.extend({ patientId: SubjectToken });
export const AlertParams = TrialParams.extend({ alertId: AlertId });

export const Compliance = z
  .object({
    expected: z.number().int().nonnegative().meta({ description: 'entries due by now' }),
    onTime: z.number().int().nonnegative(),
    late: z.number().int().nonnegative(),
    missed: z.number().int().nonnegative().meta({ description: 'windows closed with no entry' }),
    pending: z.number().int().nonnegative().meta({ description: 'windows still open' }),
    percent: z.number().nullable().meta({ description: 'on time / decided windows, in %' }),
    lastReportAt: UtcInstant.nullable(),
  })
  .meta({ id: 'Compliance' });

export const TrialOverview = z
  .object({
    trialId: z.string(),
    name: z.string(),
    status: z.string(),
    patients: z.number().int().nonnegative(),
    sites: z.number().int().nonnegative(),
    compliance: Compliance,
    openAlerts: z.number().int().nonnegative(),
    escalatedAlerts: z.number().int().nonnegative(),
  })
  .meta({ id: 'TrialOverview' });

export const TrialDetail = TrialOverview.extend({
  siteTable: z.array(
    z.object({
      siteId: z.string(),
      patients: z.number().int().nonnegative(),
      compliance: Compliance,
    }),
  ),
}).meta({ id: 'TrialDetail' });

export const PatientRow = z
  .object({
    patientId: z.string(),
    siteId: z.string(),
    enrolledAt: UtcInstant,
    compliance: Compliance,
    findings: z.number().int().nonnegative(),
  })
  .meta({ id: 'PatientCompliance' });

export const Timeline = z
  .object({
    trialId: z.string(),
    patientId: z.string(),
    siteId: z.string(),
    enrolledAt: UtcInstant,
    questionnaireId: z.string().nullable(),
    occurrences: z.array(
      z.object({
        day: z.number().int().positive(),
        due: UtcInstant,
        closes: UtcInstant,
        status: z.enum(['on-time', 'late', 'missed', 'pending']),
        entry: z.object({ completedAt: UtcInstant, requestId: z.uuid() }).nullable(),
      }),
    ),
    compliance: Compliance,
  })
  .meta({ id: 'Timeline' });

export const SubmissionsQuery = z
  .object({ minutes: z.coerce.number().int().min(1).max(1_440).default(60) })
  .strict();
export const Submissions = z
  .object({
    trialId: z.string(),
    perMinute: z.array(z.object({ minute: UtcInstant, reports: z.number().int().nonnegative() })),
  })
  .meta({ id: 'SubmissionsPerMinute' });

const Answer = z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(z.string())]);
export const AlertView = z
  .object({
    alertId: z.string(),
    trialId: z.string(),
    patientId: z.string(),
    siteId: z.string().nullable(),
    ruleId: z.string(),
    severity: z.enum(['low', 'medium', 'high']),
    questionnaireId: z.string(),
    itemId: z.string(),
    value: Answer,
    previousValue: Answer.nullable(),
    completedAt: UtcInstant,
    raisedAt: UtcInstant,
    acknowledgeBy: UtcInstant,
    status: z.enum(['open', 'acknowledged', 'resolved']),
    escalatedAt: UtcInstant.nullable(),
    acknowledged: z.object({ at: UtcInstant, by: Actor, note: z.string() }).nullable(),
    resolved: z.object({ at: UtcInstant, by: Actor, actionTaken: z.string() }).nullable(),
  })
  .meta({ id: 'Alert' });

export const AlertsQuery = z
  .object({
    trialId: SubjectToken.optional(),
    status: z.enum(['open', 'acknowledged', 'resolved']).optional(),
  })
  .strict();

export const AcknowledgeBody = z
  .object({ note: z.string().min(1).max(2000).meta({ description: 'what you saw; kept forever' }) })
  .strict()
  .meta({ id: 'AcknowledgeAlert' });
export const ResolveBody = z
  .object({
    actionTaken: z.string().min(1).max(2000).meta({ description: 'what was done; kept forever' }),
  })
  .strict()
  .meta({ id: 'ResolveAlert' });

/** What an acknowledgement or resolution recorded. */
export const AlertChange = z
  .object({
    alertId: z.string(),
    trialId: z.string(),
    status: z.enum(['acknowledged', 'resolved']),
    at: UtcInstant,
    by: Actor,
    text: z.string().meta({ description: 'the note, or the action taken' }),
  })
  .meta({ id: 'AlertChange' });

export const Finding = z
  .object({
    patientId: z.string(),
    siteId: z.string().nullable(),
    breachId: UtcInstant,
    rule: z.record(z.string(), z.unknown()),
    percent: z.number(),
    missedInARow: z.number().int(),
    detectedAt: UtcInstant,
  })
  .meta({ id: 'NonComplianceFinding' });

export const Pipeline = z
  .object({
    consumers: z.array(
      z.object({
        stream: z.string(),
        name: z.string(),
        lag: z.number().int().nonnegative().meta({ description: 'not yet delivered + unacked' }),
        ackPending: z.number().int().nonnegative(),
        redelivered: z.number().int().nonnegative(),
      }),
    ),
    streams: z.array(
      z.object({
        name: z.string(),
        messages: z.number().int().nonnegative(),
        bytes: z.number().int().nonnegative(),
        lastSeq: z.number().int().nonnegative(),
      }),
    ),
  })
  .meta({ id: 'Pipeline' });
