import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@cohort/infra/testing';
import { identity } from './identity.js';

/** The repository root, from this file's place in test/src or test/dist. */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

const READY_TIMEOUT_MS = 30_000;

/**
 * The node flags of the service's `start` script (`node <flags> dist/main.js`), so that a test
 * or benchmark runs the service as `npm start` and `cohort up` do.
 */
async function startFlags(name: string): Promise<string[]> {
  const pkg = JSON.parse(
    await readFile(join(REPO_ROOT, 'services', name, 'package.json'), 'utf8'),
  ) as { scripts?: { start?: string } };
  const words = pkg.scripts?.start?.split(' ').filter(Boolean) ?? [];
  if (words[0] !== 'node' || words.at(-1) !== 'dist/main.js') {
    throw new Error(`services/${name}: start is not "node [flags] dist/main.js"`);
  }
  return words.slice(1, -1);
}

/**
 * A Cohort service started as a real process from its build (`services/<name>/dist/main.js`),
 * on a free port, trusting the test run's identity provider, ready once `/readyz` answers 200.
 */
export class ServiceProcess {
  readonly output: string[] = [];
  #exit: Promise<number | null>;

  private constructor(
    readonly name: string,
    readonly proc: ChildProcess,
    readonly port: number,
  ) {
    this.#exit = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
    const keep = (d: Buffer) => {
      this.output.push(d.toString());
      if (this.output.length > 500) this.output.shift();
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async start(
    name: string,
    env: Record<string, string>,
    opts: { waitReady?: boolean } = {},
  ): Promise<ServiceProcess> {
    const port = await freePort();
    // The node flags `npm start` gives the service, then COHORT_SERVICE_NODE_FLAGS (e.g.
    // --cpu-prof).
    const flags = [
      ...(await startFlags(name)),
      ...(process.env.COHORT_SERVICE_NODE_FLAGS?.split(' ').filter(Boolean) ?? []),
    ];
    const main = join(REPO_ROOT, 'services', name, 'dist', 'main.js');
    const proc = spawn(process.execPath, [...flags, main], {
      env: {
        ...process.env,
        LOG_LEVEL: 'warn',
        HOST: '127.0.0.1',
        PORT: String(port),
        ...identity.env,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const svc = new ServiceProcess(name, proc, port);
    if (opts.waitReady ?? true) await svc.waitReady();
    return svc;
  }

  async waitReady(): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (this.proc.exitCode !== null) {
        throw new Error(`${this.name} exited with ${this.proc.exitCode}: ${this.output.join('')}`);
      }
      try {
        const res = await fetch(`${this.url}/readyz`);
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(
      `${this.name} not ready within ${READY_TIMEOUT_MS} ms: ${this.output.join('')}`,
    );
  }

  /** Resolves with the exit code (null when killed by a signal) once the process has exited. */
  exited(): Promise<number | null> {
    return this.#exit;
  }

  get signal(): NodeJS.Signals | null {
    return this.proc.signalCode;
  }

  /** Sends a signal and resolves with the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal);
    return this.#exit;
  }
}
