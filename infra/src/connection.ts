import { connect as natsConnect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { z } from 'zod';
import { resolveCredentials } from './access/credentials.js';
import { envString, loadConfig } from './config.js';
import { DEFAULT_DATA_DIR } from './data-dir.js';

export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

/** Wait between reconnect attempts: short, so a restarted server is found within a second. */
const RECONNECT_WAIT_MS = 500;

export interface ConnectOptions {
  /** One URL or a comma-separated list (`NATS_URL`). */
  servers?: string;
  /** Shown in the server's connection list (`nats server report connections`). */
  name: string;
  /** Optional credentials: user/password or token. */
  user?: string;
  pass?: string;
  token?: string;
  /** Keep trying at start until the server answers, instead of failing at once. */
  waitOnFirstConnect?: boolean;
  /**
   * Subject prefix of the connection's reply inboxes; `inboxPrefixOf(user)` by default, so a
   * user's permissions can let it subscribe to its own replies and nobody else's.
   */
  inboxPrefix?: string;
}

/**
 * The reply-inbox prefix of a NATS user (`_INBOX_<user>`), or the client's default `_INBOX` for a
 * connection without a user name. The permissions derived from the topology allow each user to
 * subscribe under its own prefix only.
 */
export function inboxPrefixOf(user: string | undefined): string {
  return user ? `_INBOX_${user}` : '_INBOX';
}

/**
 * A NATS connection that tracks whether it is connected right now, so callers on the hot path
 * can fail fast (503) instead of queueing requests behind a reconnect.
 */
export interface Connection {
  readonly nc: NatsConnection;
  /** Where replies to this connection's requests go: every inbox it makes starts with it. */
  readonly inboxPrefix: string;
  /** True between a successful (re)connect and the next disconnect. */
  isConnected(): boolean;
  /** Drains subscriptions and pending publishes, then closes. */
  drain(): Promise<void>;
}

/**
 * Connects with a named connection that reconnects forever and skips per-call async stack
 * traces (about a third of the client's CPU per publish on this hardware).
 */
export async function connect(opts: ConnectOptions): Promise<Connection> {
  const servers = (opts.servers ?? DEFAULT_NATS_URL).split(',').map((s) => s.trim());
  const inboxPrefix = opts.inboxPrefix ?? inboxPrefixOf(opts.user);
  const nc = await natsConnect({
    servers,
    name: opts.name,
    user: opts.user,
    pass: opts.pass,
    token: opts.token,
    maxReconnectAttempts: -1,
    reconnectTimeWait: RECONNECT_WAIT_MS,
    waitOnFirstConnect: opts.waitOnFirstConnect ?? false,
    noAsyncTraces: true,
    inboxPrefix,
  });
  let connected = true;
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') connected = false;
      else if (s.type === 'reconnect') connected = true;
    }
  })();
  void nc.closed().then(() => {
    connected = false;
  });
  return {
    nc,
    inboxPrefix,
    isConnected: () => connected && !nc.isClosed() && !nc.isDraining(),
    drain: async () => {
      if (!nc.isClosed()) await nc.drain();
    },
  };
}

/**
 * Where NATS is and who connects: `NATS_URL` (comma-separated), `NATS_USER`/`NATS_PASSWORD` or
 * `NATS_TOKEN`; without them, the user's env file under `DATA_DIR` (see resolveCredentials).
 */
export const NatsEnv = z.object({
  NATS_URL: envString().default(DEFAULT_NATS_URL),
  NATS_USER: envString(),
  NATS_PASSWORD: envString(),
  NATS_TOKEN: envString(),
  DATA_DIR: envString(),
});
export type NatsEnv = z.infer<typeof NatsEnv>;

/**
 * Connection options of a process named `name` that connects as the NATS user `user` (the
 * process name by default), from its parsed configuration.
 */
export function natsOptions(config: NatsEnv, name: string, user = name): ConnectOptions {
  const credentials = resolveCredentials(
    user,
    { user: config.NATS_USER, pass: config.NATS_PASSWORD, token: config.NATS_TOKEN },
    config.DATA_DIR || DEFAULT_DATA_DIR,
  );
  return { name, servers: config.NATS_URL, ...credentials, waitOnFirstConnect: true };
}

/** `natsOptions` read straight from the environment (the CLI's commands). */
export function natsOptionsFromEnv(
  name: string,
  env: NodeJS.ProcessEnv = process.env,
  user = name,
): ConnectOptions {
  return natsOptions(loadConfig(NatsEnv, env), name, user);
}
