import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port.js';

const run = promisify(execFile);

/** Where Debian installs PostgreSQL's server binaries, one directory per major version. */
const DEBIAN_ROOT = '/usr/lib/postgresql';
/** pg_ctl waits this long for the server to start or stop. */
const PG_CTL_TIMEOUT_S = 30;
/** The OS user that owns the cluster when tests run as root (initdb refuses root). */
const OS_USER = 'postgres';

/** `POSTGRES_BIN_DIR`, else the newest /usr/lib/postgresql/<version>/bin with initdb and pg_ctl. */
function findBinDir(): string | undefined {
  const dirs = process.env.POSTGRES_BIN_DIR
    ? [process.env.POSTGRES_BIN_DIR]
    : existsSync(DEBIAN_ROOT)
      ? readdirSync(DEBIAN_ROOT)
          .sort((a, b) => Number(b) - Number(a))
          .map((v) => join(DEBIAN_ROOT, v, 'bin'))
      : [];
  return dirs.find((d) => existsSync(join(d, 'initdb')) && existsSync(join(d, 'pg_ctl')));
}

const asRoot = process.getuid?.() === 0;

/**
 * A throwaway PostgreSQL cluster for one test file: `initdb` in a temporary directory, served on
 * a free port of 127.0.0.1 with trust authentication (user `postgres`). `stop()` and `start()`
 * take the server away and bring it back on the same port with the same data, as an outage
 * would; `dispose()` removes it. Run as the `postgres` OS user when the tests run as root.
 */
export class PostgresServer {
  readonly #bin: string;
  readonly #dir: string;
  #running = false;
  readonly port: number;

  private constructor(bin: string, dir: string, port: number) {
    this.#bin = bin;
    this.#dir = dir;
    this.port = port;
  }

  /** Whether PostgreSQL's server binaries are installed here; else why not. */
  static available(): { ok: true } | { ok: false; reason: string } {
    if (findBinDir()) return { ok: true };
    return {
      ok: false,
      reason: `no initdb and pg_ctl under ${DEBIAN_ROOT}/*/bin or POSTGRES_BIN_DIR`,
    };
  }

  /** Creates a cluster and starts it. */
  static async start(): Promise<PostgresServer> {
    const bin = findBinDir();
    if (!bin) throw new Error(`PostgreSQL is not installed: ${DEBIAN_ROOT}/*/bin has no initdb`);
    const dir = await mkdtemp(join(tmpdir(), 'cohort-pg-'));
    if (asRoot) {
      const id = async (flag: string) => Number((await run('id', [flag, OS_USER])).stdout.trim());
      await chown(dir, await id('-u'), await id('-g'));
    }
    const server = new PostgresServer(bin, dir, await freePort());
    try {
      await server.#pg('initdb', [
        '-D',
        server.#data,
        '-U',
        'postgres',
        '-A',
        'trust',
        '-E',
        'UTF8',
        '--locale=C',
        '--no-sync',
      ]);
      await server.start();
    } catch (e) {
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
    return server;
  }

  get #data(): string {
    return join(this.#dir, 'data');
  }

  /** The URL of its `postgres` database. */
  get url(): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/postgres`;
  }

  get running(): boolean {
    return this.#running;
  }

  /** Starts the server (again), on the same port with the same data; nothing if it runs. */
  async start(): Promise<void> {
    if (this.#running) return;
    // fsync off: a throwaway cluster need not survive the machine, only the server stopping.
    const options = `-p ${this.port} -k ${this.#dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
    await this.#pg('pg_ctl', [
      '-D',
      this.#data,
      '-l',
      join(this.#dir, 'server.log'),
      '-o',
      options,
      '-w',
      '-t',
      String(PG_CTL_TIMEOUT_S),
      'start',
    ]);
    this.#running = true;
  }

  /**
   * Stops the server: `fast` ends every session with an error (SQLSTATE 57P01) and shuts down
   * cleanly, `immediate` drops them like a crash. Nothing if it is stopped.
   */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    if (!this.#running) return;
    await this.#pg('pg_ctl', [
      '-D',
      this.#data,
      '-m',
      mode,
      '-w',
      '-t',
      String(PG_CTL_TIMEOUT_S),
      'stop',
    ]);
    this.#running = false;
  }

  /** Stops the server if it runs, and removes its files. */
  async dispose(): Promise<void> {
    await this.#pg('pg_ctl', ['-D', this.#data, '-m', 'immediate', '-w', 'stop']).catch(
      () => undefined, // not running
    );
    await rm(this.#dir, { recursive: true, force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }

  /** Runs one of PostgreSQL's programs, as the `postgres` OS user when we are root. */
  async #pg(program: string, args: string[]): Promise<void> {
    const path = join(this.#bin, program);
    const [cmd, argv] = asRoot ? ['runuser', ['-u', OS_USER, '--', path, ...args]] : [path, args];
    try {
      await run(cmd, argv, { cwd: this.#dir });
    } catch (e) {
      const log = await readFile(join(this.#dir, 'server.log'), 'utf8').catch(() => '');
      const { stderr } = e as { stderr?: string };
      throw new Error(`${program} failed: ${stderr ?? String(e)}\n${log.slice(-2_000)}`);
    }
  }
}
