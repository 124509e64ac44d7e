import { jetstreamManager } from '@nats-io/jetstream';
import { allDurables, ADMIN_USER } from '../access/services.js';
import { connect, natsOptionsFromEnv } from '../connection.js';
import { subscriberOptionsFromEnv } from '../subscriber/options.js';
import { provision, topology, topologyOptionsFromEnv } from '../topology.js';

/**
 * `cohort provision`: creates or updates every stream, bucket and durable of the topology (each
 * service's durables with their redrive durables, and the dead-letter capture's), as the NATS
 * user `admin` (`NATS_USER`…, else `<DATA_DIR>/nats/admin.env`). The durables take the
 * SUBSCRIBER_* settings of this environment, as the services apply theirs.
 */
export async function cmdProvision(
  log: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const conn = await connect({
    ...natsOptionsFromEnv('cohort-provision', env, ADMIN_USER),
    waitOnFirstConnect: false,
  });
  try {
    const topo = topology({
      ...topologyOptionsFromEnv(env),
      consumers: allDurables(subscriberOptionsFromEnv(env).consumer),
    });
    for (const a of await provision(conn, await jetstreamManager(conn.nc), topo)) {
      log(`${a.action.padEnd(9)} ${a.resource}`);
    }
    return 0;
  } finally {
    await conn.drain();
  }
}
