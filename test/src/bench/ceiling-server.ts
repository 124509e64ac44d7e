// The HTTP ceiling for `bench:ingest`: epro-api's own Hono stack (body limit, content-type
// check, zod validation, metrics middleware) answering 202 after validation, with no publish.
import { createApp } from '@cohort/epro-api';
import { createLogger, listen, ServiceMetrics } from '@cohort/infra';

const app = createApp({
  ingest: {
    publish: (input) =>
      Promise.resolve({ eventId: input.requestId, stream: 'NONE', seq: 0, duplicate: false }),
    find: () => Promise.resolve(undefined),
  },
  trials: { status: () => 'active' },
  metrics: new ServiceMetrics('ceiling'),
  log: createLogger('ceiling'),
  ready: {},
});
await listen(app, Number(process.env.PORT), '127.0.0.1');
