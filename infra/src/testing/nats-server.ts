import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The binary: `NATS_SERVER_BIN`, else `nats-server` on the PATH, else where Debian installs it
 * (/usr/sbin, which a non-root PATH often lacks).
 */
const BIN =
  process.env.NATS_SERVER_BIN ??
  [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/local/sbin', '/usr/local/bin']
    .filter(Boolean)
    .map((dir) => join(dir, 'nats-server'))
    .find((path) => existsSync(path)) ??
  'nats-server';
const START_TIMEOUT_MS = 15_000;

/**
 * A real `nats-server -js` for one test file: a free port chosen by the server itself, a
 * temporary store directory, stopped by its own process (never by name, never port 4222).
 */
export class NatsServer {
  #proc: ChildProcess | undefined;
  #port = -1;
  /** JetStream's store: a temporary directory, or the configuration file's. */
  readonly storeDir: string;
  readonly #workDir: string;
  /** How the server is configured: JetStream with the store above, or a configuration file. */
  readonly #config: string[];
  readonly #args: string[];

  private constructor(
    workDir: string,
    args: string[],
    config?: { file: string; storeDir: string },
  ) {
    this.#workDir = workDir;
    this.storeDir = config?.storeDir ?? join(workDir, 'store');
    this.#config = config ? ['-c', config.file] : ['-js', '-sd', this.storeDir];
    this.#args = args;
  }

  /** Starts a server; `extraArgs` go to nats-server as they are. */
  static async start(extraArgs: string[] = []): Promise<NatsServer> {
    const dir = await mkdtemp(join(tmpdir(), 'cohort-nats-'));
    const s = new NatsServer(dir, extraArgs);
    await s.#spawn();
    return s;
  }

  /**
   * Starts a server with a configuration file (e.g. the one `cohort nats-config` writes, with its
   * users and permissions). It listens on 127.0.0.1 and a free port whatever the file says; its
   * JetStream store is the file's (nats-server refuses a second one on the command line), which
   * `storeDir` names: make it a temporary one.
   */
  static async startWithConfig(
    configFile: string,
    storeDir: string,
    extraArgs: string[] = [],
  ): Promise<NatsServer> {
    const dir = await mkdtemp(join(tmpdir(), 'cohort-nats-'));
    const s = new NatsServer(dir, extraArgs, { file: configFile, storeDir });
    await s.#spawn();
    return s;
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.#port}`;
  }

  /** The server's process id while it runs. */
  get pid(): number | undefined {
    return this.running ? this.#proc?.pid : undefined;
  }

  get running(): boolean {
    return this.#proc !== undefined && this.#proc.exitCode === null;
  }

  async #spawn(): Promise<void> {
    const portsDir = join(this.#workDir, 'ports');
    await mkdir(portsDir, { recursive: true });
    // First start: port -1 (the server picks a free one and writes it to a ports file).
    // Restarts reuse that port so that clients reconnect to the same URL.
    const port = String(this.#port);
    const proc = spawn(
      BIN,
      [...this.#config, '-a', '127.0.0.1', '-p', port, '--ports_file_dir', portsDir, ...this.#args],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    const failed = new Promise<never>((_, reject) => {
      proc.once('error', (e) =>
        reject(
          new Error(`cannot start ${BIN}: ${e.message}. Install it: apt-get install nats-server`),
        ),
      );
      proc.once('exit', (code) => reject(new Error(`${BIN} exited with ${code}: ${stderr}`)));
    });
    failed.catch(() => undefined);
    this.#proc = proc;
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const p = await Promise.race([this.#readPort(proc.pid!), failed]);
      if (p !== undefined && (await canConnect(p))) {
        this.#port = p;
        return;
      }
      await Promise.race([sleep(50), failed]);
    }
    proc.kill('SIGKILL');
    throw new Error(`${BIN} did not start within ${START_TIMEOUT_MS} ms: ${stderr}`);
  }

  async #readPort(pid: number): Promise<number | undefined> {
    if (this.#port > 0) return this.#port;
    try {
      const files = await readdir(join(this.#workDir, 'ports'));
      const f = files.find((n) => n.endsWith(`_${pid}.ports`));
      if (!f) return undefined;
      const ports = JSON.parse(await readFile(join(this.#workDir, 'ports', f), 'utf8')) as {
        nats?: string[];
      };
      const url = ports.nats?.[0];
      return url ? Number(new URL(url).port) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Stops the server (SIGTERM, then SIGKILL after 5 s); the store directory is kept. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const proc = this.#proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }

  /** Starts the server again on the same port with the same store. */
  async restart(): Promise<void> {
    await this.stop();
    await this.#spawn();
  }

  /** Stops the server and removes its files. */
  async dispose(): Promise<void> {
    await this.stop();
    await rm(this.#workDir, { recursive: true, force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
