import { runService } from '@cohort/infra';
import { createApp } from './app.js';
import { caseReports } from './case-reports.js';
import { trialStatus } from './trial-status.js';

await runService({
  name: 'edc',
  port: 3003,
  database: true,
  projections: [caseReports, trialStatus],
  setup: ({ store, api }) => createApp({ ...api, db: store }),
});
