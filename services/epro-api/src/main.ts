import { Streams } from '@cohort/contracts';
import {
  connect,
  createLogger,
  IdempotentPublisher,
  LastPerSubjectView,
  listen,
  natsOptionsFromEnv,
  natsReady,
  onShutdown,
  provision,
  Publisher,
  ServiceMetrics,
  topology,
  topologyOptionsFromEnv,
} from '@cohort/infra';
import { jetstreamManager } from '@nats-io/jetstream';
import { createApp } from './app.js';
import { SOURCE } from './submit-report.js';
import { trialStatuses } from './trial-status.js';

const DEFAULT_PORT = 3001;

const log = createLogger(SOURCE);
const port = Number(process.env.PORT ?? DEFAULT_PORT);
const topo = topologyOptionsFromEnv();

const conn = await connect(natsOptionsFromEnv(SOURCE));
const jsm = await jetstreamManager(conn.nc);
for (const a of await provision(conn, jsm, topology(topo))) log.info(a, 'topology');

const publisher = new Publisher(conn);
const ingest = await IdempotentPublisher.open(conn, publisher, {
  stream: Streams.REPORTS.name,
  duplicateWindowMs: topo.duplicateWindowMs,
});
const metrics = new ServiceMetrics(SOURCE);

// Each instance holds every trial's status, replayed from PROJECTS and followed live.
const projects = Streams.PROJECTS;
const view = new LastPerSubjectView(conn, projects.name, projects.subjects[0], log);
await view.start();
await view.ready; // not listening before the trial statuses are loaded

const app = createApp({
  ingest,
  trials: trialStatuses(view),
  metrics,
  log,
  ready: {
    nats: natsReady(conn),
    stream: async () => {
      if (!conn.isConnected()) return 'unknown while NATS is unreachable';
      await jsm.streams.info(Streams.REPORTS.name);
      return null;
    },
  },
});

const server = await listen(app, port);
log.info({ port: server.port, nats: process.env.NATS_URL }, 'listening');

onShutdown(log, async () => {
  await server.close();
  await view.stop();
  await conn.drain();
});
