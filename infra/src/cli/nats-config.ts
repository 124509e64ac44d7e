import { parseArgs } from 'node:util';
import { writeNatsConfig } from '../access/nats-config.js';
import { DEFAULT_NATS_URL } from '../connection.js';
import { dataDirFrom } from '../data-dir.js';
import { topology, topologyOptionsFromEnv } from '../topology.js';
import { UsageError } from './errors.js';

export const NATS_CONFIG_USAGE = `cohort nats-config — the nats-server configuration with one user per service

  cohort nats-config [--host H] [--port P] [--rotate]

Writes <DATA_DIR>/nats/nats-server.conf (listen address from --host/--port, else NATS_URL;
JetStream store <DATA_DIR>/nats; the users admin, cli and one per service, with permissions
derived from the topology), <DATA_DIR>/nats/authorization.conf (the users alone, for a
cluster's own configuration to include) and <DATA_DIR>/nats/<user>.env (NATS_USER,
NATS_PASSWORD; mode 0600).
Users keep their passwords unless --rotate. Run nats-server with: nats-server -c <that file>.`;

/** Where NATS_URL's first server listens: the default listen address of the configuration. */
export function listenAddress(url: string): { host: string; port: number } {
  const first = url.split(',')[0]!.trim();
  const u = new URL(first.includes('://') ? first : `nats://${first}`);
  return { host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1', port: Number(u.port || 4222) };
}

export async function natsConfig(args: string[], log: (line: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { host: { type: 'string' }, port: { type: 'string' }, rotate: { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length) throw new UsageError(`unexpected arguments: ${positionals.join(' ')}`);
  const fromUrl = listenAddress(process.env.NATS_URL || DEFAULT_NATS_URL);
  const port = values.port === undefined ? fromUrl.port : Number(values.port);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new UsageError(`--port must be a port number, not ${values.port}`);
  }
  const r = await writeNatsConfig({
    dataDir: dataDirFrom(),
    host: values.host ?? fromUrl.host,
    port,
    topology: topology(topologyOptionsFromEnv()),
    rotate: values.rotate,
  });
  log(`wrote ${r.configFile}`);
  for (const u of r.users) log(`  ${u.user.padEnd(20)} ${u.envFile} (password ${u.password})`);
  log(`run: nats-server -c ${r.configFile}`);
  return 0;
}
