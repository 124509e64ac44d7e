import type { z } from 'zod';
import { ReportSubmittedData } from '../events/report-submitted.js';

/** Body of `POST /v1/reports`: exactly the data of the ReportSubmitted event it becomes. */
export const SubmitReport = ReportSubmittedData.strict();
export type SubmitReport = z.infer<typeof SubmitReport>;
