import { projectSubject, Streams } from '@cohort/contracts';
import {
  connect,
  createLogger,
  databaseReady,
  exitWhenLost,
  EventStoreDbEventStore,
  JetStreamEventStore,
  listen,
  natsOptionsFromEnv,
  natsReady,
  onShutdown,
  openStore,
  ServiceMetrics,
  startProjections,
  storeOptionsFromEnv,
  type EventStore,
} from '@cohort/infra';
import { createApp } from './app.js';
import { portfolio, reportCounts } from './portfolio.js';

const SERVICE = 'project-management';
const DEFAULT_PORT = 3002;

const log = createLogger(SERVICE);
const port = Number(process.env.PORT ?? DEFAULT_PORT);

const db = await openStore(storeOptionsFromEnv(SERVICE));
exitWhenLost(db, log);
const conn = await connect(natsOptionsFromEnv(SERVICE));
const metrics = new ServiceMetrics(SERVICE);
const running = await startProjections({
  conn,
  store: db,
  projections: [portfolio, reportCounts],
  metrics,
  log,
});

// The JetStream event store is the default; EVENTSTORE_CONNECTION_STRING switches to EventStoreDB.
const esdb = process.env.EVENTSTORE_CONNECTION_STRING;
const store: EventStore = esdb
  ? EventStoreDbEventStore.open(esdb, 'project')
  : await JetStreamEventStore.open(conn, Streams.PROJECTS.name, projectSubject);
log.info({ eventStore: esdb ? 'eventstoredb' : 'jetstream', database: db.location }, 'stores open');

const app = createApp({
  store,
  db,
  metrics,
  log,
  ready: {
    nats: natsReady(conn),
    database: databaseReady(db),
    consumers: running.ready,
  },
  info: async () => ({ lag: await running.lag() }),
});
const server = await listen(app, port);
log.info({ port: server.port }, 'listening');

onShutdown(log, async () => {
  await server.close();
  await running.stop();
  await store.close();
  await db.close();
  await conn.drain();
});
