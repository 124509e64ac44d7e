import { jetstreamManager } from '@nats-io/jetstream';
import type { Connection } from '../connection.js';
import type { ReadinessCheck } from '../http/ops.js';
import { DeadLetterDesk } from '../deadletters/desk.js';
import type { Logger } from '../logger.js';
import type { ServiceMetrics } from '../metrics.js';
import type { SqlStore } from '../store/sql-store.js';
import { provision, topology, topologyOptionsFromEnv } from '../topology.js';
import { faultsFromEnv } from './faults.js';
import { SubscriberMetrics } from './metrics.js';
import { subscriberOptionsFromEnv } from './options.js';
import type { Projection } from './projection.js';
import { Subscriber } from './pull-loop.js';

export interface RunningProjections {
  /** The readiness check of the subscribers: ready while every one is attached to its consumer. */
  ready: ReadinessCheck;
  /** Each consumer's lag (messages not yet delivered), by name; null where the server did not say. */
  lag(): Promise<Record<string, number | null>>;
  /** Stops every subscriber (applying what was delivered) and the dead-letter capture. */
  stop(): Promise<void>;
}

/**
 * The subscriber side of a service: provisions the topology with the projections' durables
 * (settings from SUBSCRIBER_* applied), starts one subscriber per projection on the service's
 * store, and runs the dead-letter capture, which every subscriber service shares.
 */
export async function startProjections(opts: {
  conn: Connection;
  store: SqlStore;
  projections: Projection[];
  metrics: ServiceMetrics;
  log: Logger;
  env?: NodeJS.ProcessEnv;
}): Promise<RunningProjections> {
  const env = opts.env ?? process.env;
  const settings = subscriberOptionsFromEnv(env);
  const projections = opts.projections.map((p) => ({
    ...p,
    consumer: { ...p.consumer, ...settings.consumer },
  }));
  const topo = topology({
    ...topologyOptionsFromEnv(env),
    consumers: projections.map((p) => p.consumer),
  });
  for (const a of await provision(opts.conn, await jetstreamManager(opts.conn.nc), topo))
    opts.log.info(a, 'topology');
  const metrics = new SubscriberMetrics(opts.metrics.registry);
  const runtime = { ...settings.runtime, ...faultsFromEnv(env) };
  const subscribers = projections.map(
    (p) => new Subscriber(opts.conn, opts.store, p, metrics, opts.log, runtime),
  );
  for (const s of subscribers) await s.start();
  const desk = await DeadLetterDesk.open(opts.conn, opts.log);
  desk.startCapture();
  return {
    ready: () =>
      Promise.resolve(subscribers.every((s) => s.attached) ? null : 'consumer not attached'),
    lag: async () =>
      Object.fromEntries(
        await Promise.all(
          subscribers.map(async (s) => [s.name, await s.lag().catch(() => null)] as const),
        ),
      ),
    // Together: each may wait out an open fetch request.
    stop: async () => {
      await Promise.all([...subscribers.map((s) => s.stop()), desk.stop()]);
    },
  };
}
