import type { UserPermissions } from './permissions.js';

/** One user of the generated configuration. */
export interface ConfiguredUser {
  user: string;
  /** A bcrypt hash (nats-server compares a client's password with it), never the password. */
  passwordHash: string;
  permissions: UserPermissions;
}

export interface ServerConfigOptions {
  /** Where nats-server listens for clients. */
  host: string;
  port: number;
  /** JetStream's store directory. */
  storeDir: string;
  /** Who may connect; none: anyone, without credentials (the test harnesses' servers). */
  users: ConfiguredUser[];
  /** The server's name in a cluster: what stream info names as leader and replicas. */
  serverName?: string;
  /** Membership of a cluster: its name, where this server listens for routes, and the routes. */
  cluster?: ClusterListen;
}

/** The `cluster` block of one member (see clusterOf). */
export interface ClusterListen {
  name: string;
  host: string;
  port: number;
  /** `nats-route://host:port` of every member, this one included (nats-server skips itself). */
  routes: string[];
}

/** Drops empty lists: nats-server reads an absent list and an empty one alike, a reader not. */
function withoutEmpty(p: { allow: string[]; deny: string[] }) {
  return {
    ...(p.allow.length > 0 ? { allow: p.allow } : {}),
    ...(p.deny.length > 0 ? { deny: p.deny } : {}),
  };
}

/**
 * The text of a nats-server configuration: listen address, JetStream with its store, and the
 * users with their permissions, in the global account (where a server started without users kept
 * its streams, so they stay visible). Values are written as JSON, which the configuration
 * format includes: every string is quoted, so `$JS…` subjects and `$2a$…` hashes are never read
 * as variables. No `no_auth_user`: a connection without credentials is refused.
 */
export function renderServerConfig(o: ServerConfigOptions): string {
  const cluster = o.cluster && {
    name: o.cluster.name,
    listen: hostPort(o.cluster.host, o.cluster.port),
    routes: o.cluster.routes,
  };
  return [
    '# nats-server configuration of Cohort, written by `cohort nats-config`.',
    '# The users and their permissions are derived from the topology (infra/src/topology.ts and',
    '# infra/src/access/services.ts): change those and run `cohort nats-config` again rather than',
    '# editing this file. Passwords are in <user>.env beside it; here are only their bcrypt hashes.',
    ...(o.serverName ? [`server_name: ${JSON.stringify(o.serverName)}`] : []),
    `listen: ${JSON.stringify(hostPort(o.host, o.port))}`,
    `jetstream: ${JSON.stringify({ store_dir: o.storeDir })}`,
    ...(cluster ? [`cluster: ${JSON.stringify(cluster, null, 2)}`] : []),
    ...(o.users.length > 0 ? [renderAuthorization(o.users)] : ['']),
  ].join('\n');
}

/**
 * The `authorization` block alone, for a server whose own configuration (a cluster's, with its
 * routes and store) includes it: `include "authorization.conf"`.
 */
export function renderAuthorization(users: ConfiguredUser[]): string {
  const authorization = {
    users: users.map((u) => ({
      user: u.user,
      password: u.passwordHash,
      permissions: {
        publish: withoutEmpty(u.permissions.publish),
        subscribe: withoutEmpty(u.permissions.subscribe),
      },
    })),
  };
  return `authorization: ${JSON.stringify(authorization, null, 2)}\n`;
}

function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}
