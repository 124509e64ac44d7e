import type { Connection } from '../connection.js';
import type { ReadinessCheck } from '../http/ops.js';
import { DeadLetterDesk } from '../deadletters/desk.js';
import type { Logger } from '../logger.js';
import type { ServiceMetrics } from '../metrics.js';
import { isDatabaseUnavailable } from '../store/database-errors.js';
import type { SqlStore } from '../store/sql-store.js';
import { topology, topologyOptionsFromEnv } from '../topology.js';
import { provisionOrVerify } from '../topology-check.js';
import { errorText } from './failures.js';
import { faultsFromEnv } from './faults.js';
import { SubscriberMetrics } from './metrics.js';
import { subscriberOptionsFromEnv } from './options.js';
import type { Projection } from './projection.js';
import { Subscriber } from './pull-loop.js';

/** Delays between attempts to start subscribers whose database is not there yet; the last repeats. */
export const START_RETRY_MS = [1_000, 2_000, 5_000, 10_000];

export interface RunningProjections {
  /**
   * The readiness check of the subscribers: ready once every one has started, while each is
   * attached to its durables and its database answers; else the reason.
   */
  ready: ReadinessCheck;
  /**
   * Resolves once every subscriber has started: at once, or, when the database was out of reach
   * at start, once it answered and the migrations ran. Resolves too when stopped before that.
   */
  started: Promise<void>;
  /** Each consumer's lag (messages not yet applied), by name; null where the server did not say. */
  lag(): Promise<Record<string, number | null>>;
  /** The projections as they run: their durables' settings (SUBSCRIBER_*) applied. */
  projections: Projection[];
  /** The dead-letter desk the service's capture runs on. */
  desk: DeadLetterDesk;
  /** Stops every subscriber (applying what was delivered) and the dead-letter capture. */
  stop(): Promise<void>;
}

/**
 * The subscriber side of a service: provisions the topology with the projections' durables
 * (settings from SUBSCRIBER_* applied), starts one subscriber per projection on the service's
 * store, and runs the dead-letter capture, which every subscriber service shares.
 *
 * A database out of reach at start is not an error: migrations and start are retried in the
 * background with growing delays (logged), and `ready` says why the service is not ready. Any
 * other failure of the first start (a migration this build does not know, a durable with a
 * different filter) is thrown, as is a failure to provision the topology, or a topology that
 * is missing something its NATS user may not create.
 */
export async function startProjections(opts: {
  conn: Connection;
  store: SqlStore;
  projections: Projection[];
  metrics: ServiceMetrics;
  log: Logger;
  env?: NodeJS.ProcessEnv;
}): Promise<RunningProjections> {
  const { log } = opts;
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
  const check = await provisionOrVerify(opts.conn, topo);
  for (const a of check.actions) log.info(a, 'topology');
  if (check.missing.length > 0) {
    throw new Error(
      `the topology is missing ${check.missing.join(', ')} (${check.refused.join('; ')}); ` +
        'provision it as admin: npx cohort provision',
    );
  }
  const metrics = new SubscriberMetrics(opts.metrics.registry);
  const runtime = { ...settings.runtime, ...faultsFromEnv(env) };
  const subscribers = projections.map(
    (p) => new Subscriber(opts.conn, opts.store, p, metrics, log, runtime),
  );
  const startAll = async () => {
    for (const s of subscribers) await s.start();
  };
  const stopAll = () => Promise.all(subscribers.map((s) => s.stop()));

  /** Why the subscribers have not started yet; undefined once they have. */
  let notStarted: string | undefined;
  const why = (e: unknown) =>
    isDatabaseUnavailable(e) ? `database unavailable: ${errorText(e)}` : errorText(e);
  try {
    await startAll();
  } catch (e) {
    if (!isDatabaseUnavailable(e)) {
      await stopAll();
      throw e;
    }
    notStarted = why(e);
    log.warn({ err: notStarted }, 'database unavailable at start; retrying in the background');
  }

  let stopping = false;
  let wake: () => void = () => undefined;
  const pause = (ms: number) =>
    new Promise<void>((r) => {
      const t = setTimeout(r, ms);
      wake = () => {
        clearTimeout(t);
        r();
      };
    });
  const retryStart = async () => {
    for (let attempt = 0; notStarted !== undefined; attempt++) {
      await pause(START_RETRY_MS[Math.min(attempt, START_RETRY_MS.length - 1)]!);
      if (stopping) return;
      try {
        await startAll();
        notStarted = undefined;
        log.info({ attempts: attempt + 2 }, 'subscribers started');
      } catch (e) {
        if (stopping) return;
        notStarted = why(e);
        // Still out of reach is expected; anything else needs someone to look.
        if (isDatabaseUnavailable(e)) log.warn({ err: notStarted }, 'subscribers not started');
        else log.error({ err: notStarted }, 'subscribers not started');
      }
    }
  };
  const started = retryStart();

  const desk = await DeadLetterDesk.open(opts.conn, log);
  desk.startCapture();
  return {
    projections,
    desk,
    ready: () => {
      if (notStarted !== undefined) return Promise.resolve(`not started: ${notStarted}`);
      if (!subscribers.every((s) => s.databaseAvailable))
        return Promise.resolve('database unavailable');
      return Promise.resolve(subscribers.every((s) => s.attached) ? null : 'consumer not attached');
    },
    started,
    lag: async () =>
      Object.fromEntries(
        await Promise.all(
          subscribers.map(async (s) => [s.name, await s.lag().catch(() => null)] as const),
        ),
      ),
    // Together: each may wait out an open fetch request.
    stop: async () => {
      stopping = true;
      wake();
      await Promise.all([stopAll(), desk.stop()]);
    },
  };
}
