import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@cohort/infra/testing';
import { REPO_ROOT } from './service-process.js';

const BIN = join(REPO_ROOT, 'infra', 'bin', 'cohort.mjs');

/** The services' default ports: `cohort up` gives them no PORT of their own. */
export const SERVICE_PORTS = { 'epro-api': 3001, 'project-management': 3002, edc: 3003 };

/** Building nothing (turbo's cache) and starting three services; generous for a loaded machine. */
export const READY_TIMEOUT_MS = 150_000;

const POLL_MS = 250;

/** The services' drain plus the SIGKILL fallback of cohort up, with room to spare. */
export const STOP_TIMEOUT_MS = 60_000;

/** True when something accepts connections on 127.0.0.1:port. */
export function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** Fails, naming the port, when the port cannot be bound (another process holds it). */
export function assertFree(port: number, who: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', (e) =>
      reject(new Error(`port ${port} (${who}) is in use (${e.message}): stop what listens there`)),
    );
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve()));
  });
}

export async function ready(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/readyz`)).ok;
  } catch {
    return false;
  }
}

export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A `cohort up` process of a test, with a DATA_DIR of its own. */
export interface Up {
  proc: ChildProcess;
  output: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  natsPort: number;
  dataDir: string;
}

/**
 * Runs `cohort up <args>` on a free NATS port and a temporary DATA_DIR, the services' stores
 * under it (PGlite), with `env` added. Fails first when a service's fixed port is taken.
 */
export async function cohortUp(
  args: string[] = [],
  env: Record<string, string> = {},
  natsPort?: number,
): Promise<Up> {
  for (const [name, port] of Object.entries(SERVICE_PORTS)) await assertFree(port, name);
  const port = natsPort ?? (await freePort());
  const dataDir = await mkdtemp(join(tmpdir(), 'cohort-up-'));
  const full: NodeJS.ProcessEnv = {
    ...process.env,
    NATS_URL: `nats://127.0.0.1:${port}`,
    DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    ...env,
  };
  for (const name of ['DATABASE_URL', 'DATABASE_SCHEMA', 'PORT']) delete full[name];
  const proc = spawn(process.execPath, [BIN, 'up', ...args], {
    env: full,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { proc, output: () => out, exit, natsPort: port, dataDir };
}

/** Waits until every service answers /readyz 200; fails with cohort up's output if it exits. */
export async function servicesReady(up: Up): Promise<void> {
  const ports = Object.values(SERVICE_PORTS);
  // Polled by hand: expect.poll would keep polling after cohort up has exited.
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await Promise.all(ports.map(ready))).every(Boolean)) {
    if (up.proc.exitCode !== null || Date.now() > deadline) {
      throw new Error(`services not ready (cohort up exit ${up.proc.exitCode}):\n${up.output()}`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** Sends `signal` to cohort up alone and waits for its exit, at most STOP_TIMEOUT_MS. */
export async function stopUp(
  up: Up,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<{ code: number | null; signal: NodeJS.Signals | null } | 'timeout'> {
  if (up.proc.exitCode === null && up.proc.signalCode === null) up.proc.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const exited = await Promise.race([
    up.exit,
    new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), STOP_TIMEOUT_MS);
    }),
  ]);
  clearTimeout(timer);
  return exited;
}

/** Stops cohort up if it still runs (SIGKILL after STOP_TIMEOUT_MS) and removes its DATA_DIR. */
export async function disposeUp(up: Up): Promise<void> {
  if ((await stopUp(up)) === 'timeout') {
    up.proc.kill('SIGKILL');
    await up.exit;
  }
  await rm(up.dataDir, { recursive: true, force: true });
}
