import { projectSubject, Streams } from '@cohort/contracts';
import {
  connect,
  createLogger,
  DeadLetterDesk,
  faultsFromEnv,
  JetStreamEventStore,
  EventStoreDbEventStore,
  listen,
  natsOptionsFromEnv,
  onShutdown,
  openStore,
  provision,
  ServiceMetrics,
  storeOptionsFromEnv,
  Subscriber,
  SubscriberMetrics,
  subscriberOptionsFromEnv,
  topology,
  topologyOptionsFromEnv,
  type EventStore,
} from '@cohort/infra';
import { jetstreamManager } from '@nats-io/jetstream';
import { createApp } from './app.js';
import { portfolio, reportCounts } from './portfolio.js';

const SERVICE = 'project-management';
const DEFAULT_PORT = 3002;

const log = createLogger(SERVICE);
const port = Number(process.env.PORT ?? DEFAULT_PORT);
const sub = subscriberOptionsFromEnv();
const projections = [portfolio, reportCounts].map((p) => ({
  ...p,
  consumer: { ...p.consumer, ...sub.consumer },
}));

const db = await openStore(storeOptionsFromEnv(SERVICE));
const conn = await connect(natsOptionsFromEnv(SERVICE));
const jsm = await jetstreamManager(conn.nc);
const topo = topology({
  ...topologyOptionsFromEnv(),
  consumers: projections.map((p) => p.consumer),
});
for (const a of await provision(conn, jsm, topo)) log.info(a, 'topology');

// The JetStream event store is the default; EVENTSTORE_CONNECTION_STRING switches to EventStoreDB.
const esdb = process.env.EVENTSTORE_CONNECTION_STRING;
const store: EventStore = esdb
  ? EventStoreDbEventStore.open(esdb, 'project')
  : await JetStreamEventStore.open(conn, Streams.PROJECTS.name, projectSubject);
log.info({ eventStore: esdb ? 'eventstoredb' : 'jetstream', database: db.location }, 'stores open');

const metrics = new ServiceMetrics(SERVICE);
const subscriberMetrics = new SubscriberMetrics(metrics.registry);
const subscribers = projections.map(
  (p) =>
    new Subscriber(conn, db, p, subscriberMetrics, log, { ...sub.runtime, ...faultsFromEnv() }),
);
for (const s of subscribers) await s.start();
const desk = await DeadLetterDesk.open(conn, log);
desk.startCapture();

const app = createApp({
  store,
  db,
  metrics,
  log,
  ready: {
    nats: () => Promise.resolve(conn.isConnected() ? null : 'not connected to NATS'),
    database: async () => {
      await db.query('SELECT 1');
      return null;
    },
    consumers: () =>
      Promise.resolve(subscribers.every((s) => s.attached) ? null : 'consumer not attached'),
  },
});
const server = await listen(app, port);
log.info({ port: server.port }, 'listening');

onShutdown(log, async () => {
  await server.close();
  for (const s of subscribers) await s.stop();
  await desk.stop();
  await store.close();
  await db.close();
  await conn.drain();
});
