import type { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import { AuthConfigError, AuthEnv, tokenKeys, type TokenKeys } from '../auth/keys.js';
import { ConfigError, envInt, envString, loadConfig } from '../config.js';
import { connect, NatsEnv, natsOptions, type Connection } from '../connection.js';
import type { ApiOptions } from '../http/api.js';
import { databaseReady, natsReady, type ReadinessCheck } from '../http/ops.js';
import { listen } from '../http/server.js';
import { Rebuilds } from '../rebuild/rebuilds.js';
import { rebuildRoutes } from '../rebuild/routes.js';
import { createLogger, type Logger } from '../logger.js';
import { ServiceMetrics } from '../metrics.js';
import {
  DEFAULT_DATA_DIR,
  openStore,
  storeOptions,
  StoreEnv,
  type SqlStore,
} from '../store/sql-store.js';
import type { Projection } from '../subscriber/projection.js';
import { SubscriberEnv } from '../subscriber/options.js';
import { startProjections, type RunningProjections } from '../subscriber/service.js';
import { topology, TopologyEnv, topologyOptions } from '../topology.js';
import { exitWhenLost, onShutdown } from './shutdown.js';
import { natsServerFacts, warnWhenNotPowerSafe } from './nats-durability.js';
import { awaitTopology } from './topology-gate.js';

/** Exit code of a service that cannot start with the configuration it was given. */
export const EXIT_BAD_CONFIG = 2;

/** What every service reads: NATS, topology, where to listen, how much to log. */
function serviceEnv(defaultPort: number) {
  return NatsEnv.extend(TopologyEnv.shape)
    .extend(AuthEnv.shape)
    .extend(StoreEnv.shape)
    .extend(SubscriberEnv.shape)
    .extend({
      PORT: envInt(0, 65_535).default(defaultPort),
      HOST: envString().default('0.0.0.0'),
      LOG_LEVEL: z
        .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
        .optional()
        .catch(undefined),
    });
}
export type ServiceEnv = z.infer<ReturnType<typeof serviceEnv>>;

/**
 * Every environment variable runService reads, from its schemas: with a service's own (its
 * definition's `env`), all that a deployment may set for that service.
 */
export const SERVICE_ENV_VARIABLES: readonly string[] = Object.keys(serviceEnv(0).shape);

export interface ServiceContext<S extends z.ZodRawShape> {
  /** The parsed configuration: the common variables and the service's own. */
  config: ServiceEnv & z.infer<z.ZodObject<S>>;
  log: Logger;
  metrics: ServiceMetrics;
  conn: Connection;
  /** What `createApi` needs from the runtime: token keys, readiness of NATS, database and consumers, lag. */
  api: Pick<ApiOptions, 'service' | 'auth' | 'metrics' | 'log' | 'ready' | 'info'>;
  /** Runs `stop` at shutdown, after the server closes and before NATS drains (last first). */
  onStop: (stop: () => Promise<void>) => void;
  /**
   * Aborted when shutdown begins, before the server closes. The server's close waits for every
   * request in flight: an answer that never ends by itself (an event stream) must end on it.
   */
  stopping: AbortSignal;
}

export interface ServiceDefinition<S extends z.ZodRawShape, D extends boolean> {
  /** The service's name: its logs, metrics, NATS connection, schema and data directory. */
  name: string;
  /** `PORT` when none is set. */
  port: number;
  /** The service's own variables, as zod fields over the environment. */
  env?: S;
  /** Opens the service's SQL store (PGlite, or PostgreSQL with `DATABASE_URL`). */
  database?: D;
  /** Read models fed by durable consumers, in the service's store. */
  projections?: Projection[];
  /** Builds the HTTP app from what the runtime opened. */
  setup(
    ctx: ServiceContext<S> & (D extends true ? { store: SqlStore } : object),
  ): Promise<OpenAPIHono> | OpenAPIHono;
}

/**
 * Runs a service: parses its configuration (a bad variable stops it at once, exit code 2,
 * naming the variable), connects to NATS as its own user (`NATS_USER`…, else its env file under
 * `<DATA_DIR>/nats`), provisions the topology with its durables where that user may (else
 * verifies it, and waits, not ready, while something is missing; see awaitTopology), opens its
 * store, starts its projections and the dead-letter capture (and mounts the rebuilds of its
 * projections at `/v1/rebuilds`, see rebuildRoutes), serves its app, and on SIGTERM or SIGINT
 * stops in order: event streams (`stopping`), the server (in-flight requests finish), what
 * setup registered, the projections (the batch in hand is applied and acked), the store, then
 * NATS drains.
 */
export async function runService<
  S extends z.ZodRawShape = z.ZodRawShape,
  D extends boolean = false,
>(def: ServiceDefinition<S, D>): Promise<void> {
  const schema = serviceEnv(def.port).extend(def.env ?? ({} as S));
  let config: ServiceContext<S>['config'];
  try {
    config = loadConfig(schema, process.env) as ServiceContext<S>['config'];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`${def.name}: ${e.message}\n`);
    process.exit(EXIT_BAD_CONFIG);
  }
  const log = createLogger(def.name);
  const metrics = new ServiceMetrics(def.name);
  const where = storeOptions(config, def.name);
  const dataDir = where.dataDir ?? DEFAULT_DATA_DIR;
  let auth: TokenKeys;
  try {
    auth = await tokenKeys(config, dataDir);
  } catch (e) {
    if (!(e instanceof AuthConfigError)) throw e;
    process.stderr.write(`${def.name}: ${e.message}\n`);
    process.exit(EXIT_BAD_CONFIG);
  }
  if (auth.mode === 'development') {
    log.warn(
      { keys: `${dataDir}/auth` },
      'tokens are verified with the development key set; configure COHORT_JWKS_URL or COHORT_JWKS_FILE for anything but local development',
    );
  }
  const store = def.database ? await openStore(where) : undefined;
  if (store) {
    exitWhenLost(store, log);
    log.info({ store: store.kind, location: store.location }, 'database open');
  }
  const nats = natsOptions(config, def.name);
  const conn = await connect(nats);
  await awaitTopology({
    conn,
    topology: topology(topologyOptions(config)),
    log,
    metrics,
    user: nats.user,
    port: config.PORT,
    host: config.HOST,
  });
  warnWhenNotPowerSafe(conn, log, config.COHORT_REPLICAS ?? 1);
  const ready: Record<string, ReadinessCheck> = { nats: natsReady(conn) };
  if (store) ready.database = databaseReady(store);
  let running: RunningProjections | undefined;
  let rebuilds: Rebuilds | undefined;
  const projections = store && def.projections?.length ? def.projections : [];
  if (projections.length > 0) {
    ready.consumers = () => (running ? running.ready() : Promise.resolve('starting'));
  }
  // Which server it is connected to (version, cluster size) and, with projections, their lag.
  const info = async () => ({
    nats: natsServerFacts(conn) ?? null,
    ...(projections.length > 0 ? { lag: running ? await running.lag() : {} } : {}),
  });
  const stops: (() => Promise<void>)[] = [];
  const stopping = new AbortController();
  const ctx: ServiceContext<S> = {
    config,
    log,
    metrics,
    conn,
    api: { service: def.name, auth, metrics, log, ready, info },
    onStop: (stop) => stops.push(stop),
    stopping: stopping.signal,
  };
  // The app is built before the first message is pulled: a batch in hand is never kept
  // waiting behind the service's own start-up.
  const app = await def.setup({ ...ctx, store } as Parameters<typeof def.setup>[0]);
  if (store && projections.length > 0) {
    running = await startProjections({ conn, store, projections, metrics, log });
    const { desk } = running;
    rebuilds = new Rebuilds({
      service: def.name,
      conn,
      store,
      projections: running.projections,
      log,
      desk,
    });
    app.route('/v1/rebuilds', rebuildRoutes(rebuilds, log));
  }
  const server = await listen(app, config.PORT, config.HOST);
  log.info({ port: server.port }, 'listening');
  onShutdown(log, async () => {
    stopping.abort();
    await server.close();
    for (const stop of stops.reverse()) await stop();
    await rebuilds?.stop(); // interrupted, to resume when started again
    await running?.stop();
    await store?.close();
    await conn.drain();
  });
}
