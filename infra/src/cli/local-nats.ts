import { spawn, spawnSync } from 'node:child_process';
import { mkdir, open } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { join } from 'node:path';

/** How long nats-server gets to flush its store and exit after SIGTERM before it is killed. */
const NATS_STOP_TIMEOUT_MS = 10_000;

export interface LocalNats {
  url: string;
  /** True when this process started the server (and should stop it). */
  started: boolean;
  stop(): Promise<void>;
}

/** True when something accepts connections on host:port within `timeoutMs`. */
export function reachable(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

function which(bin: string): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/local/sbin']) {
    const r = spawnSync('test', ['-x', join(dir, bin)]);
    if (r.status === 0) return join(dir, bin);
  }
  return undefined;
}

/** Installs Debian's nats-server when running as root with apt-get; otherwise explains how. */
function ensureBinary(log: (s: string) => void): string {
  const found = process.env.NATS_SERVER_BIN ?? which('nats-server');
  if (found) return found;
  const isRoot = process.getuid?.() === 0;
  if (isRoot && which('apt-get')) {
    log('nats-server is missing: installing the Debian package nats-server');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    const r = spawnSync('apt-get', ['install', '-y', '-qq', 'nats-server'], {
      stdio: 'inherit',
      env,
    });
    const bin = which('nats-server');
    if (r.status === 0 && bin) return bin;
  }
  throw new Error(
    'nats-server is not installed. Install it with:\n' +
      '  sudo apt-get install nats-server      (Debian/Ubuntu)\n' +
      'or point NATS_URL at a running nats-server with JetStream (-js).',
  );
}

/**
 * Finds a reachable NATS at `url`, or starts `nats-server -js` on that URL's port with its
 * store under `dataDir`. Only 127.0.0.1/localhost URLs are started locally. `configure`, when
 * given, writes the server's configuration file for that port and returns its path: the server
 * runs with it (`-c`), on 127.0.0.1 and the URL's port whatever the file says.
 */
export async function ensureLocalNats(
  url: string,
  dataDir: string,
  log: (s: string) => void,
  configure?: (port: number) => Promise<string>,
  /** Its JetStream store and log: `<dataDir>/nats` by default (a cluster's members differ). */
  storeDir = join(dataDir, 'nats'),
): Promise<LocalNats> {
  const first = url.split(',')[0]!.trim();
  const u = new URL(first.includes('://') ? first : `nats://${first}`);
  const host = u.hostname || '127.0.0.1';
  const port = Number(u.port || 4222);
  if (await reachable(host, port)) {
    log(`using NATS at ${first}`);
    return { url, started: false, stop: () => Promise.resolve() };
  }
  if (!['127.0.0.1', 'localhost', '::1'].includes(host)) {
    throw new Error(
      `NATS at ${first} is not reachable, and it is not local, so it cannot be started here`,
    );
  }
  const bin = ensureBinary(log);
  await mkdir(storeDir, { recursive: true });
  const logFile = await open(join(storeDir, 'nats-server.log'), 'a');
  const config = configure ? await configure(port) : undefined;
  const args = config
    ? ['-c', config, '-a', '127.0.0.1', '-p', String(port)]
    : ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir];
  const proc = spawn(bin, args, {
    stdio: ['ignore', logFile.fd, logFile.fd],
    detached: true, // not in our process group: Ctrl-C reaches it only through stop()
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  for (let i = 0; i < 100 && !(await reachable('127.0.0.1', port, 200)); i++) {
    if (proc.exitCode !== null) {
      throw new Error(
        `nats-server exited with ${proc.exitCode}; see ${join(storeDir, 'nats-server.log')}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!(await reachable('127.0.0.1', port, 200))) {
    proc.kill('SIGKILL');
    throw new Error(
      `nats-server did not answer on port ${port}; see ${join(storeDir, 'nats-server.log')}`,
    );
  }
  const how = config ? `config ${config}, ` : '';
  log(`started nats-server -js on 127.0.0.1:${port} (${how}store ${storeDir}, pid ${proc.pid})`);
  return {
    url: `nats://127.0.0.1:${port}`,
    started: true,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), NATS_STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      }
      await logFile.close();
    },
  };
}
