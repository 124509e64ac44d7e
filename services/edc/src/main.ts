import {
  connect,
  createLogger,
  databaseReady,
  exitWhenLost,
  listen,
  natsOptionsFromEnv,
  natsReady,
  onShutdown,
  openStore,
  ServiceMetrics,
  startProjections,
  storeOptionsFromEnv,
} from '@cohort/infra';
import { createApp } from './app.js';
import { caseReports } from './case-reports.js';
import { trialStatus } from './trial-status.js';

const SERVICE = 'edc';
const DEFAULT_PORT = 3003;

const log = createLogger(SERVICE);
const port = Number(process.env.PORT ?? DEFAULT_PORT);

const store = await openStore(storeOptionsFromEnv(SERVICE));
exitWhenLost(store, log);
log.info({ store: store.kind, location: store.location }, 'database open');
const conn = await connect(natsOptionsFromEnv(SERVICE));
const metrics = new ServiceMetrics(SERVICE);
const running = await startProjections({
  conn,
  store,
  projections: [caseReports, trialStatus],
  metrics,
  log,
});

const app = createApp({
  db: store,
  metrics,
  log,
  ready: {
    database: databaseReady(store),
    consumer: running.ready,
    nats: natsReady(conn),
  },
  info: async () => ({ lag: await running.lag() }),
});
const server = await listen(app, port);
log.info({ port: server.port }, 'listening');

onShutdown(log, async () => {
  await server.close();
  await running.stop();
  await store.close();
  await conn.drain();
});
