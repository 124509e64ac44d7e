import type { ClusterListen } from './server-config.js';

/** The cluster's name: every member's `cluster.name`, which routes must agree on. */
export const CLUSTER_NAME = 'cohort';

/** One nats-server of a local cluster. */
export interface ClusterMember {
  /** Its `server_name`: `nats-<n>`, n from 1. */
  name: string;
  /** Where clients connect. */
  clientPort: number;
  /** Where the other members route to it. */
  clusterPort: number;
}

/** Members `nats-1` … `nats-<ports.length>` with the given client and cluster ports. */
export function clusterMembers(ports: { client: number; cluster: number }[]): ClusterMember[] {
  return ports.map((p, i) => ({
    name: `nats-${i + 1}`,
    clientPort: p.client,
    clusterPort: p.cluster,
  }));
}

/** The `cluster` block of every member on `host`: each routes to all of them. */
export function clusterOf(
  members: Pick<ClusterMember, 'clusterPort'>[],
  host: string,
): ClusterListen[] {
  const routes = members.map((m) => `nats-route://${host}:${m.clusterPort}`);
  return members.map((m) => ({ name: CLUSTER_NAME, host, port: m.clusterPort, routes }));
}

/** NATS_URL of a cluster: every member's client URL, comma-separated. */
export function clusterUrl(members: ClusterMember[], host: string): string {
  return members.map((m) => `nats://${host}:${m.clientPort}`).join(',');
}
