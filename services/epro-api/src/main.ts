import { PROJECT_LIFECYCLE_FILTER, Streams } from '@cohort/contracts';
import {
  IdempotentPublisher,
  LastPerSubjectView,
  Publisher,
  runService,
  streamReady,
} from '@cohort/infra';
import { createApp } from './app.js';
import { SOURCE } from './submit-report.js';
import { trialStatuses } from './trial-status.js';

await runService({
  name: SOURCE,
  port: 3001,
  setup: async ({ conn, config, api, log, onStop }) => {
    const ingest = await IdempotentPublisher.open(conn, new Publisher(conn), {
      stream: Streams.REPORTS.name,
      duplicateWindowMs: config.COHORT_DUPLICATE_WINDOW_MS,
    });
    // Each instance holds every trial's status, replayed from PROJECTS and followed live.
    const view = new LastPerSubjectView(conn, Streams.PROJECTS.name, PROJECT_LIFECYCLE_FILTER, log);
    await view.start();
    onStop(() => view.stop());
    await view.ready; // not listening before the trial statuses are loaded
    return createApp({
      ...api,
      ingest,
      trials: trialStatuses(view),
      ready: { ...api.ready, stream: streamReady(conn, Streams.REPORTS.name) },
    });
  },
});
