import {
  connect,
  createLogger,
  DeadLetterDesk,
  faultsFromEnv,
  listen,
  natsOptionsFromEnv,
  onShutdown,
  openStore,
  provision,
  ServiceMetrics,
  storeOptionsFromEnv,
  Subscriber,
  subscriberOptionsFromEnv,
  SubscriberMetrics,
  topology,
  topologyOptionsFromEnv,
} from '@cohort/infra';
import { jetstreamManager } from '@nats-io/jetstream';
import { createApp } from './app.js';
import { caseReports } from './case-reports.js';
import { trialStatus } from './trial-status.js';

const SERVICE = 'edc';
const DEFAULT_PORT = 3003;

const log = createLogger(SERVICE);
const port = Number(process.env.PORT ?? DEFAULT_PORT);
const sub = subscriberOptionsFromEnv();
const projections = [caseReports, trialStatus].map((p) => ({
  ...p,
  consumer: { ...p.consumer, ...sub.consumer },
}));

const store = await openStore(storeOptionsFromEnv(SERVICE));
log.info({ store: store.kind, location: store.location }, 'database open');
const conn = await connect(natsOptionsFromEnv(SERVICE));
const jsm = await jetstreamManager(conn.nc);
const topo = topology({
  ...topologyOptionsFromEnv(),
  consumers: projections.map((p) => p.consumer),
});
for (const a of await provision(conn, jsm, topo)) log.info(a, 'topology');

const metrics = new ServiceMetrics(SERVICE);
const subscriberMetrics = new SubscriberMetrics(metrics.registry);
const [subscriber, statusSubscriber] = projections.map(
  (p) =>
    new Subscriber(conn, store, p, subscriberMetrics, log, { ...sub.runtime, ...faultsFromEnv() }),
) as [Subscriber, Subscriber];
await subscriber.start();
await statusSubscriber.start();
// Any subscriber service may turn dead-letter advisories into dead letters; they share one durable.
const desk = await DeadLetterDesk.open(conn, log);
desk.startCapture();

const app = createApp({
  db: store,
  metrics,
  log,
  ready: {
    database: async () => {
      await store.query('SELECT 1');
      return null;
    },
    consumer: () =>
      Promise.resolve(
        subscriber.attached && statusSubscriber.attached ? null : 'consumer not attached',
      ),
    nats: () => Promise.resolve(conn.isConnected() ? null : 'not connected to NATS'),
  },
  info: async () => ({ lag: await subscriber.lag().catch(() => null) }),
});
const server = await listen(app, port);
log.info({ port: server.port }, 'listening');

onShutdown(log, async () => {
  await server.close();
  await subscriber.stop();
  await statusSubscriber.stop();
  await desk.stop();
  await store.close();
  await conn.drain();
});
