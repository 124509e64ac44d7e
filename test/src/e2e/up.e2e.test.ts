import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, natsConfigFile, freePort } from '@cohort/infra/testing';
import { AuthorizationError } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/service-process.js';

const BIN = join(REPO_ROOT, 'infra', 'bin', 'cohort.mjs');

/** The services' default ports: `cohort up` gives them no PORT of their own. */
const SERVICE_PORTS = { 'epro-api': 3001, 'project-management': 3002, edc: 3003 };

/** Building nothing (turbo's cache) and starting three services; generous for a loaded machine. */
const READY_TIMEOUT_MS = 150_000;

const POLL_MS = 250;

/** The services' drain plus the SIGKILL fallback of cohort up, with room to spare. */
const STOP_TIMEOUT_MS = 60_000;

/** True when something accepts connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
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
function assertFree(port: number, who: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', (e) =>
      reject(
        new Error(
          `port ${port} (${who}) is in use (${e.message}): cohort up runs the ` +
            `services on ${Object.values(SERVICE_PORTS).join(', ')}; stop what listens there`,
        ),
      ),
    );
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve()));
  });
}

async function ready(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/readyz`)).ok;
  } catch {
    return false;
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface Up {
  proc: ChildProcess;
  output: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  natsPort: number;
  dataDir: string;
}

let running: Up | undefined;

async function cohortUp(): Promise<Up> {
  for (const [name, port] of Object.entries(SERVICE_PORTS)) await assertFree(port, name);
  const natsPort = await freePort();
  const dataDir = await mkdtemp(join(tmpdir(), 'cohort-up-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NATS_URL: `nats://127.0.0.1:${natsPort}`,
    DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
  };
  // The services' own stores under DATA_DIR (PGlite), whatever this run was given.
  for (const name of ['DATABASE_URL', 'DATABASE_SCHEMA', 'PORT']) delete env[name];
  const proc = spawn(process.execPath, [BIN, 'up'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  running = { proc, output: () => out, exit, natsPort, dataDir };
  return running;
}

afterEach(async () => {
  // A failed test must not leave services on the fixed ports for the next one.
  const up = running;
  running = undefined;
  if (!up) return;
  if (up.proc.exitCode === null && up.proc.signalCode === null) {
    up.proc.kill('SIGTERM');
    const timer = setTimeout(() => up.proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await up.exit;
    clearTimeout(timer);
  }
  await rm(up.dataDir, { recursive: true, force: true });
}, STOP_TIMEOUT_MS + 10_000);

describe.each(['SIGTERM', 'SIGINT'] as const)('cohort up, then %s to its process', (signal) => {
  it(
    'stops every service and the nats-server it started, and exits 0',
    async () => {
      const up = await cohortUp();
      const ports = Object.values(SERVICE_PORTS);
      // Polled by hand: expect.poll would keep polling after cohort up has exited.
      const deadline = Date.now() + READY_TIMEOUT_MS;
      while (!(await Promise.all(ports.map(ready))).every(Boolean)) {
        if (up.proc.exitCode !== null || Date.now() > deadline) {
          throw new Error(
            `services not ready (cohort up exit ${up.proc.exitCode}):\n${up.output()}`,
          );
        }
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
      const started = /started nats-server .* pid (\d+)\)/.exec(up.output());
      expect(started, up.output()).not.toBeNull();
      const natsPid = Number(started![1]);
      expect(processExists(natsPid)).toBe(true);
      expect(await listening(up.natsPort)).toBe(true);
      // It runs with the generated users: every service got in with its own, nobody gets in
      // without one.
      expect(up.output()).toContain(`config ${natsConfigFile(up.dataDir)}`);
      const anonymous = await connect({ servers: `nats://127.0.0.1:${up.natsPort}`, name: 't' })
        .then(async (c) => {
          await c.drain();
          return 'connected';
        })
        .catch((e: unknown) => e);
      expect(anonymous).toBeInstanceOf(AuthorizationError);

      up.proc.kill(signal); // this process alone, as a supervisor does; not its group
      let timer: NodeJS.Timeout | undefined;
      const exited = await Promise.race([
        up.exit,
        new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), STOP_TIMEOUT_MS);
        }),
      ]);
      clearTimeout(timer);
      expect(exited, up.output()).toEqual({ code: 0, signal: null });

      for (const port of [...ports, up.natsPort]) {
        expect(await listening(port), `something still listens on ${port}`).toBe(false);
      }
      expect(processExists(natsPid)).toBe(false);
      expect(up.output()).toMatch(new RegExp(`${signal}: stopping every service`));
    },
    READY_TIMEOUT_MS + STOP_TIMEOUT_MS + 10_000,
  );
});
