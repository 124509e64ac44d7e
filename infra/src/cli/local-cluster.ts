import { join } from 'node:path';
import { clusterMembers, clusterOf, clusterUrl } from '../access/cluster.js';
import { writeNatsConfig } from '../access/nats-config.js';
import type { Topology } from '../topology.js';
import { ensureLocalNats, reachable, type LocalNats } from './local-nats.js';
import { listenAddress } from './nats-config.js';

/** A member's route port is its client port plus this: 4222 routes on 6222, as nats-server's. */
export const ROUTE_PORT_OFFSET = 2000;

export interface LocalCluster extends LocalNats {
  /** Each member's configuration file: `nats-server -c <file>` starts it again. */
  configFiles: string[];
}

/**
 * Starts `size` nats-servers on 127.0.0.1 as one JetStream cluster: member n (from 1) serves
 * clients on NATS_URL's port + n - 1 and routes on that + ROUTE_PORT_OFFSET, with its store and
 * configuration (the users of `cohort nats-config`) under `<dataDir>/nats-<n>`. Every port must
 * be free: a server already there (the machine's own on 4222, or a member left running) would
 * not be the member this starts. The URL lists every member, so clients fail over between them.
 */
export async function ensureLocalCluster(
  size: number,
  url: string,
  dataDir: string,
  topology: Topology,
  log: (s: string) => void,
): Promise<LocalCluster> {
  const { port } = listenAddress(url);
  const members = clusterMembers(
    Array.from({ length: size }, (_, i) => ({
      client: port + i,
      cluster: port + i + ROUTE_PORT_OFFSET,
    })),
  );
  const routes = clusterOf(members, '127.0.0.1');
  for (const p of members.flatMap((m) => [m.clientPort, m.clusterPort])) {
    if (await reachable('127.0.0.1', p)) {
      throw new Error(
        `port ${p} is in use: a cluster of ${size} needs ports ${port}-${port + size - 1} and ` +
          `${port + ROUTE_PORT_OFFSET}-${port + ROUTE_PORT_OFFSET + size - 1} free; stop what ` +
          'listens there, or start from another port (NATS_URL=nats://127.0.0.1:14222)',
      );
    }
  }
  const nodes: LocalNats[] = [];
  const configFiles: string[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  };
  try {
    for (const [i, m] of members.entries()) {
      const storeDir = join(dataDir, m.name);
      const configFile = join(storeDir, 'nats-server.conf');
      configFiles.push(configFile);
      const configure = async (clientPort: number) => {
        const member = { serverName: m.name, cluster: routes[i]!, storeDir, configFile };
        await writeNatsConfig({ dataDir, host: '127.0.0.1', port: clientPort, topology, member });
        return configFile;
      };
      const url = `nats://127.0.0.1:${m.clientPort}`;
      nodes.push(await ensureLocalNats(url, dataDir, log, configure, storeDir));
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    url: clusterUrl(members, '127.0.0.1'),
    started: nodes.some((n) => n.started),
    stop,
    configFiles,
  };
}
