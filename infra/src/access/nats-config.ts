import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hash } from 'bcryptjs';
import type { Topology } from '../topology.js';
import { credentialsFile, natsDir, readCredentialsFile } from './credentials.js';
import { natsPermissions } from './permissions.js';
import { renderAuthorization, renderServerConfig, type ClusterListen } from './server-config.js';
import { SERVICES, type ServiceNeeds } from './services.js';

/**
 * bcrypt cost of the stored hashes: nats-server's own `passwd` default. The server pays it on
 * every connect (tens of milliseconds), which services do once and then keep their connection.
 */
export const BCRYPT_COST = 11;
/** Random bytes per password: 192 bits, 32 characters in base64url. */
const PASSWORD_BYTES = 24;
/** Only the owner reads the directory, the env files (passwords) and the configuration (hashes). */
const PRIVATE_DIR = 0o700;
const PRIVATE_FILE = 0o600;

/** The configuration file `cohort nats-config` writes: `<DATA_DIR>/nats/nats-server.conf`. */
export function natsConfigFile(dataDir: string): string {
  return join(natsDir(dataDir), 'nats-server.conf');
}

export interface NatsConfigOptions {
  /** `<DATA_DIR>`: the files go to `<DATA_DIR>/nats`, the JetStream store too. */
  dataDir: string;
  host: string;
  port: number;
  /** The streams and buckets the permissions cover. */
  topology: Topology;
  /** New passwords for every user; by default each user keeps the one in its env file. */
  rotate?: boolean;
  services?: Record<string, ServiceNeeds>;
  /**
   * A member of a cluster: its name, its `cluster` block, and its own store and configuration
   * file (the users' env files stay in `<DATA_DIR>/nats`, shared by every member).
   */
  member?: { serverName: string; cluster: ClusterListen; storeDir: string; configFile: string };
}

export interface NatsConfigResult {
  configFile: string;
  users: { user: string; envFile: string; password: 'kept' | 'new' }[];
}

/** Writes `text` to `file` readable by its owner only, replacing it whole or not at all. */
async function writePrivate(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode: PRIVATE_FILE });
  await chmod(tmp, PRIVATE_FILE); // whatever the umask
  await rename(tmp, file);
}

/**
 * Writes the nats-server configuration (users and permissions derived from the topology and
 * SERVICES; see natsPermissions) and, per user, `<user>.env` with `NATS_USER` and
 * `NATS_PASSWORD`, under `<DATA_DIR>/nats` (mode 0700, files 0600). A user keeps the password of
 * its existing env file unless `rotate`; a new user gets a random one. Run again after the
 * topology changes: the permissions follow.
 */
export async function writeNatsConfig(o: NatsConfigOptions): Promise<NatsConfigResult> {
  const dir = natsDir(o.dataDir);
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR });
  await chmod(dir, PRIVATE_DIR);
  const permissions = natsPermissions(o.topology, o.services ?? SERVICES);
  const users: NatsConfigResult['users'] = [];
  const configured = [];
  for (const [user, perms] of Object.entries(permissions)) {
    const kept = o.rotate ? undefined : readCredentialsFile(o.dataDir, user)?.pass;
    const password = kept ?? randomBytes(PASSWORD_BYTES).toString('base64url');
    const envFile = credentialsFile(o.dataDir, user);
    await writePrivate(
      envFile,
      `# NATS credentials of the user ${user}, written by cohort nats-config\n` +
        `NATS_USER=${user}\nNATS_PASSWORD=${password}\n`,
    );
    configured.push({ user, passwordHash: await hash(password, BCRYPT_COST), permissions: perms });
    users.push({ user, envFile, password: kept ? 'kept' : 'new' });
  }
  const configFile = o.member?.configFile ?? natsConfigFile(o.dataDir);
  if (o.member) await mkdir(o.member.storeDir, { recursive: true, mode: PRIVATE_DIR });
  await writePrivate(
    configFile,
    renderServerConfig({
      host: o.host,
      port: o.port,
      storeDir: o.member?.storeDir ?? dir,
      users: configured,
      serverName: o.member?.serverName,
      cluster: o.member?.cluster,
    }),
  );
  await writePrivate(authorizationFile(o.dataDir), renderAuthorization(configured));
  return { configFile, users };
}

/** The users and permissions alone, for a cluster's own configuration to include. */
export function authorizationFile(dataDir: string): string {
  return join(natsDir(dataDir), 'authorization.conf');
}
