import { Device, SubjectToken, UtcInstant } from '@cohort/contracts';
import { z } from 'zod';

/** Page size when none is asked for, and the largest one served. */
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

export const TrialParams = z.object({ trialId: SubjectToken });
export const PatientParams = TrialParams.extend({ patientId: SubjectToken });

export const PageQuery = z
  .object({
    from: UtcInstant.optional().meta({ description: 'reports completed at or after (UTC)' }),
    to: UtcInstant.optional().meta({ description: 'reports completed before (UTC)' }),
    limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(DEFAULT_PAGE_SIZE),
    cursor: z.string().max(200).optional().meta({ description: "the previous page's nextCursor" }),
  })
  .strict();
export const ListQuery = PageQuery.extend({ patientId: SubjectToken.optional() }).strict();

/** A range that ends before it starts is a mistake, not an empty page. */
const ordered = (q: { from?: string; to?: string }) =>
  !q.from || !q.to || Date.parse(q.from) <= Date.parse(q.to);
export const PageQueryChecked = PageQuery.refine(ordered, {
  path: ['from'],
  message: 'is after to',
});
export const ListQueryChecked = ListQuery.refine(ordered, {
  path: ['from'],
  message: 'is after to',
});

export const CaseReport = z
  .object({
    eventId: z.uuid(),
    requestId: z.uuid(),
    trialId: z.string(),
    patientId: z.string(),
    questionnaire: z.object({ id: z.string(), version: z.string() }),
    answers: z.unknown().meta({ description: 'as submitted: `{ itemId, value, unit? }` items' }),
    completedAt: UtcInstant,
    recordedAt: UtcInstant,
    seq: z.number().int().positive(),
    late: z.boolean().meta({ description: 'recorded after the trial closed' }),
    siteId: z
      .string()
      .nullable()
      .meta({ description: 'the site the entry came from; null when its report did not say' }),
    device: Device.nullable().meta({
      description: 'the app the entry was made in; null when its report did not say',
    }),
  })
  .meta({ id: 'CaseReport' });

export const ReportPage = z
  .object({
    items: z.array(CaseReport),
    nextCursor: z.string().nullable().meta({ description: 'null on the last page' }),
  })
  .meta({ id: 'CaseReportPage' });

export const TrialSummary = z
  .object({
    trialId: z.string(),
    status: z.string().nullable().meta({ description: 'null before EDC has heard of the trial' }),
    locked: z.boolean(),
    closedAt: UtcInstant.nullable(),
    lockedAt: UtcInstant.nullable(),
    reports: z.number().int().nonnegative(),
    patients: z.number().int().nonnegative(),
    lateReports: z.number().int().nonnegative(),
    firstCompletedAt: UtcInstant.nullable(),
    lastCompletedAt: UtcInstant.nullable(),
    lastRecordedAt: UtcInstant.nullable(),
  })
  .meta({ id: 'TrialSummary' });
