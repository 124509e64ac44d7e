import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Where `cohort nats-config` keeps the server configuration and one `<user>.env` per NATS user:
 * `<DATA_DIR>/nats`, beside the store of the nats-server that `cohort up` starts.
 */
export function natsDir(dataDir: string): string {
  return join(dataDir, 'nats');
}

/** `<DATA_DIR>/nats/<user>.env`: `NATS_USER` and `NATS_PASSWORD` of one user. */
export function credentialsFile(dataDir: string, user: string): string {
  return join(natsDir(dataDir), `${user}.env`);
}

/** Who a connection authenticates as; all absent for a server without users. */
export interface NatsCredentials {
  user?: string;
  pass?: string;
  token?: string;
}

/** `KEY=VALUE` lines; blank lines and `#` comments skipped; no quoting, no expansion. */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return out;
}

/** The credentials in `<DATA_DIR>/nats/<user>.env`, or undefined when there is no such file. */
export function readCredentialsFile(dataDir: string, user: string): NatsCredentials | undefined {
  let text: string;
  try {
    text = readFileSync(credentialsFile(dataDir, user), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const vars = parseEnvFile(text);
  return { user: vars.NATS_USER, pass: vars.NATS_PASSWORD, token: vars.NATS_TOKEN };
}

/**
 * The one place a process finds its NATS credentials: `NATS_USER`/`NATS_PASSWORD` or
 * `NATS_TOKEN` from its environment when any of them is set (they always win); otherwise the
 * env file of `user` under `<DATA_DIR>/nats` when it exists; otherwise none (a server without
 * users, as in the tests).
 */
export function resolveCredentials(
  user: string,
  given: NatsCredentials,
  dataDir: string,
): NatsCredentials {
  if (given.user || given.pass || given.token) return given;
  return readCredentialsFile(dataDir, user) ?? {};
}
