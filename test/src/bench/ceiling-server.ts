// The HTTP ceiling for `bench:ingest`: epro-api's own Hono stack (body limit, content-type
// check, token verification, zod validation, metrics middleware) answering 202 after
// validation, with no publish.
import { createApp } from '@cohort/epro-api';
import {
  AuthEnv,
  createLogger,
  listen,
  loadConfig,
  ServiceMetrics,
  tokenKeys,
} from '@cohort/infra/testing';

const app = createApp({
  // The same token check as the real endpoint: the ceiling measures the whole HTTP stack.
  auth: await tokenKeys(loadConfig(AuthEnv), process.env.DATA_DIR ?? '.data'),
  ingest: {
    publish: (input) =>
      Promise.resolve({ eventId: input.requestId, stream: 'NONE', seq: 0, duplicate: false }),
    find: () => Promise.resolve(undefined),
  },
  trials: { status: () => 'active', createdAt: () => Promise.resolve(undefined) },
  metrics: new ServiceMetrics('ceiling'),
  log: createLogger('ceiling'),
  ready: {},
});
await listen(app, Number(process.env.PORT), '127.0.0.1');
