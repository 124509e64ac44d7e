import { mkdir } from 'node:fs/promises';
import { z } from 'zod';
import { envString, loadConfig } from '../config.js';
import { DEFAULT_DATA_DIR } from '../data-dir.js';
import { runMigrations } from './migrations.js';
import { PgliteWorker } from './pglite-worker.js';
import { PostgresStore } from './postgres-store.js';

/** Something that runs SQL: the store itself, or a transaction. Placeholders are `$1`, `$2`… */
export interface Sql {
  query<T = Record<string, unknown>>(
    text: string,
    params?: unknown[],
  ): Promise<{ rows: T[]; rowCount: number }>;
  /** Runs several statements without parameters (migrations). */
  exec(text: string): Promise<void>;
}

/** One versioned schema change. Versions of one namespace are applied in order, once. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * A service's own database: PGlite (embedded, a data directory per service) or PostgreSQL
 * (one schema per service). The same SQL runs on both.
 */
export interface SqlStore extends Sql {
  readonly kind: 'pglite' | 'postgres';
  /** Where the data lives: a directory, `memory`, or `postgres schema <name>`. */
  readonly location: string;
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
  /** Applies the migrations of `namespace` not yet applied; returns how many ran. */
  migrate(namespace: string, migrations: Migration[]): Promise<number>;
  /**
   * Settles if the database is gone for good while open (PGlite's worker thread died): every
   * later statement fails, so the service should exit and be restarted. Never, on PostgreSQL,
   * whose pool reconnects.
   */
  readonly lost: Promise<Error>;
  close(): Promise<void>;
}

export interface StoreOptions {
  /** The service name: the PostgreSQL schema, and the PGlite directory under `dataDir`. */
  service: string;
  /** PostgreSQL URL (`DATABASE_URL`); PGlite when absent. */
  databaseUrl?: string;
  /** PGlite data directory root (`DATA_DIR`); PGlite in memory when absent. */
  dataDir?: string;
  /** Overrides the PostgreSQL schema (`DATABASE_SCHEMA`; tests use one per run). */
  schema?: string;
  /** Connections in the PostgreSQL pool. */
  poolSize?: number;
}

/**
 * Opens the store the environment asks for: PostgreSQL when `DATABASE_URL` is set, else PGlite.
 * A PostgreSQL server that cannot be reached yet is not an error: statements fail until it is
 * back (see `isDatabaseUnavailable`), and its schema is created by the first migration.
 */
export async function openStore(opts: StoreOptions): Promise<SqlStore> {
  if (opts.databaseUrl) {
    // A schema name is an identifier: `project-management` becomes `project_management`.
    const schema = opts.schema ?? opts.service.replaceAll('-', '_');
    return PostgresStore.open(opts.databaseUrl, schema, opts.poolSize);
  }
  return PgliteStore.open(opts.dataDir ? `${opts.dataDir}/${opts.service}` : undefined);
}

export { DEFAULT_DATA_DIR };

/**
 * Where a service's store is: `DATABASE_URL` (PostgreSQL; PGlite when absent), `DATABASE_SCHEMA`
 * (an identifier) and `DATA_DIR` (PGlite's directories; default `<repo>/.data`).
 */
export const StoreEnv = z.object({
  DATABASE_URL: envString(),
  DATABASE_SCHEMA: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier')
      .optional(),
  ),
  DATA_DIR: envString(),
});
export type StoreEnv = z.infer<typeof StoreEnv>;

/** The store options of `service` from parsed configuration. */
export function storeOptions(config: StoreEnv, service: string): StoreOptions {
  return {
    service,
    databaseUrl: config.DATABASE_URL,
    schema: config.DATABASE_SCHEMA,
    dataDir: config.DATA_DIR || DEFAULT_DATA_DIR,
  };
}

/** `storeOptions` read straight from the environment. */
export function storeOptionsFromEnv(
  service: string,
  env: NodeJS.ProcessEnv = process.env,
): StoreOptions {
  return storeOptions(loadConfig(StoreEnv, env), service);
}

/**
 * PGlite in a worker thread (see pglite-worker.ts). PGlite is one connection: a transaction
 * holds it until it ends, and statements outside a transaction wait their turn.
 */
class PgliteStore implements SqlStore {
  readonly kind = 'pglite';
  #turn: Promise<void> = Promise.resolve();
  private constructor(
    private readonly db: PgliteWorker,
    readonly location: string,
  ) {}

  static async open(dir: string | undefined): Promise<PgliteStore> {
    if (dir) await mkdir(dir, { recursive: true });
    return new PgliteStore(await PgliteWorker.open(dir), dir ?? 'memory');
  }

  get lost() {
    return this.db.lost;
  }

  /** Ends PGlite's worker at once, as a crash would. For tests. */
  abort() {
    return this.db.abort();
  }

  /** Runs `fn` once every earlier caller is done with the connection. */
  async #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const before = this.#turn;
    let done!: () => void;
    this.#turn = new Promise((r) => (done = r));
    await before;
    try {
      return await fn();
    } finally {
      done();
    }
  }

  query<T>(text: string, params?: unknown[]) {
    return this.#exclusive(() => this.db.query<T>(text, params));
  }

  exec(text: string) {
    return this.#exclusive(() => this.db.exec(text));
  }

  /** BEGIN travels with the first statement: one round trip to the worker fewer. */
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    return this.#exclusive(async () => {
      let begun = false;
      const first = () => !begun && (begun = true);
      try {
        const result = await fn({
          query: <R>(text: string, params?: unknown[]) => this.db.query<R>(text, params, first()),
          exec: (text: string) => this.db.exec(text, first()),
        });
        if (begun) await this.db.exec('COMMIT');
        return result;
      } catch (e) {
        if (begun) await this.db.exec('ROLLBACK').catch(() => undefined);
        throw e;
      }
    });
  }

  // PGlite is one embedded connection: transactions are already serialized, no lock needed.
  migrate(namespace: string, migrations: Migration[]) {
    return runMigrations(this, namespace, migrations, '');
  }

  close() {
    return this.#exclusive(() => this.db.close());
  }
}
