import type { z } from 'zod';
import { ReportSubmittedData } from '../events/report-submitted.js';

/**
 * Body of `POST /v1/reports`: the data of the ReportSubmitted event it becomes, with `siteId`
 * and `device` optional, so that a v1 body (without them) is still a valid submission. A body
 * without them parses to exactly the keys v1 had, so its content hash is the one it had then.
 */
export const SubmitReport = ReportSubmittedData.extend({
  siteId: ReportSubmittedData.shape.siteId.optional(),
  device: ReportSubmittedData.shape.device.optional(),
}).strict();
export type SubmitReport = z.infer<typeof SubmitReport>;
