import {
  Actor,
  DiaryScheduleSetData,
  ProjectId,
  ProjectStatus,
  SafetyRule,
  SubjectToken,
  UtcInstant,
} from '@cohort/contracts';

// Bodies carry no actor: who acts is the verified caller, and a body naming one is refused.
import { z } from 'zod';

export const IdParams = z.object({ id: ProjectId });

export const CreateBody = z
  .object({
    requestId: z.uuid().meta({ description: 'the same on every retry of this creation' }),
    projectId: ProjectId.meta({ description: 'the trial id reports will carry' }),
    name: z.string().min(1).max(200),
  })
  .strict()
  .meta({ id: 'CreateProject' });

export const StatusBody = z
  .object({
    to: ProjectStatus,
    reason: z.string().min(1).max(1000).meta({ description: 'why, in your words; kept forever' }),
    expectedVersion: z
      .number()
      .int()
      .nonnegative()
      .meta({ description: 'the version you decided on; 409 when it moved' }),
    effectiveAt: UtcInstant.optional().meta({ description: 'when it takes effect, if earlier' }),
  })
  .strict()
  .meta({ id: 'ChangeProjectStatus' });

export const ProjectView = z
  .object({
    projectId: z.string(),
    name: z.string(),
    status: ProjectStatus,
    version: z.number().int().positive(),
    createdAt: UtcInstant,
    updatedAt: UtcInstant,
  })
  .meta({ id: 'Project' });

export const History = z
  .object({
    projectId: z.string(),
    items: z.array(
      z.object({
        version: z.number().int().positive(),
        type: z.string(),
        at: UtcInstant,
        actor: Actor,
        from: ProjectStatus.nullable(),
        to: ProjectStatus,
        reason: z.string().nullable(),
        effectiveAt: UtcInstant,
      }),
    ),
  })
  .meta({ id: 'ProjectHistory' });

export const Portfolio = z
  .object({
    items: z.array(
      z.object({
        projectId: z.string(),
        name: z.string(),
        status: z.string(),
        reports: z.number().int().nonnegative(),
        updatedAt: UtcInstant,
      }),
    ),
  })
  .meta({ id: 'Portfolio' });

export const ScheduleBody = DiaryScheduleSetData.omit({ projectId: true })
  .extend({ reason: z.string().min(1).max(1000).meta({ description: 'why; kept forever' }) })
  .strict()
  .meta({ id: 'SetDiarySchedule' });

export const RuleParams = IdParams.extend({ ruleId: SubjectToken });

export const RuleBody = SafetyRule.omit({ ruleId: true })
  .extend({ reason: z.string().min(1).max(1000).meta({ description: 'why; kept forever' }) })
  .strict()
  .meta({ id: 'SetSafetyRule' });

export const ProtocolView = z
  .object({
    projectId: z.string(),
    version: z.number().int().nonnegative(),
    schedule: DiaryScheduleSetData.omit({ projectId: true }).nullable(),
    rules: z.array(SafetyRule),
  })
  .meta({ id: 'TrialProtocol' });

export const EnrolBody = z
  .object({
    requestId: z.uuid().meta({ description: 'the same on every retry of this enrolment' }),
    patientId: SubjectToken,
    siteId: SubjectToken,
    enrolledAt: UtcInstant.optional().meta({ description: 'when enrolled, if earlier than now' }),
  })
  .strict()
  .meta({ id: 'EnrolPatient' });

export const EnrolmentView = z
  .object({
    trialId: z.string(),
    patientId: z.string(),
    siteId: z.string(),
    enrolledAt: UtcInstant,
  })
  .meta({ id: 'Enrolment' });

export const Enrolments = z.object({ items: z.array(EnrolmentView) }).meta({ id: 'Enrolments' });
