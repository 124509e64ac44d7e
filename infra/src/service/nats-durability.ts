import type { Connection } from '../connection.js';
import type { Logger } from '../logger.js';

/**
 * The first nats-server version with `jetstream.sync_interval` (`always`: fsync before every
 * acknowledgement). Before it, JetStream syncs its files every two minutes: an acknowledged
 * message can be lost when the machine loses power.
 */
export const SYNC_ALWAYS_SINCE = [2, 10] as const;

/** The nats-server a connection is connected to, as it describes itself. */
export interface NatsServerFacts {
  /** Its version (`2.9.10`). */
  version: string;
  /** Its `server_name`. */
  server: string;
  /** Its cluster's name, when it is in one. */
  cluster?: string;
  /** How many servers the cluster has that it knows of (1 without a cluster). */
  clusterSize: number;
  /** Whether it can fsync before acknowledging each write (`sync_interval: always`). */
  canSyncEveryWrite: boolean;
}

/** Whether `version` (`major.minor.patch`, any suffix) has `sync_interval` (2.10 or later). */
export function canSyncEveryWrite(version: string): boolean {
  const [major = 0, minor = 0] = version.split(/[.-]/).map(Number);
  const [wantMajor, wantMinor] = SYNC_ALWAYS_SINCE;
  return major > wantMajor || (major === wantMajor && minor >= wantMinor);
}

/**
 * What the server of the connection's current INFO says: a reconnect to another member updates
 * it. The cluster's size is the count of the client URLs it advertises (`connect_urls`, its own
 * included), which a server outside a cluster leaves out.
 */
export function natsServerFacts(conn: Connection): NatsServerFacts | undefined {
  const info = conn.nc.info;
  if (!info) return undefined;
  return {
    version: info.version,
    server: info.server_name,
    ...(info.cluster ? { cluster: info.cluster } : {}),
    clusterSize: Math.max(1, info.connect_urls?.length ?? 1),
    canSyncEveryWrite: canSyncEveryWrite(info.version),
  };
}

/**
 * Warns, once at start, when what the service stores can be lost to a power failure: the
 * server cannot fsync every write (before 2.10). Durability across power loss needs both
 * `sync_interval: always` and three replicas, so that a write acknowledged is on disk on a
 * majority of machines.
 */
export function warnWhenNotPowerSafe(conn: Connection, log: Logger, replicas: number): void {
  const facts = natsServerFacts(conn);
  if (!facts || facts.canSyncEveryWrite) return;
  log.warn(
    { nats: facts, replicas },
    `nats-server ${facts.version} cannot fsync every write (sync_interval needs ` +
      `${SYNC_ALWAYS_SINCE.join('.')}): a power loss can lose acknowledged messages; ` +
      'power-loss durability needs nats-server 2.10 or later with sync_interval: always, and three replicas',
  );
}
