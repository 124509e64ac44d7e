import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { PgliteWorker } from './pglite-worker.js';

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

/** Opens the store the environment asks for: PostgreSQL when `DATABASE_URL` is set, else PGlite. */
export async function openStore(opts: StoreOptions): Promise<SqlStore> {
  if (opts.databaseUrl) {
    // A schema name is an identifier: `project-management` becomes `project_management`.
    const schema = opts.schema ?? opts.service.replaceAll('-', '_');
    return PostgresStore.open(opts.databaseUrl, schema, opts.poolSize);
  }
  return PgliteStore.open(opts.dataDir ? `${opts.dataDir}/${opts.service}` : undefined);
}

/** `<repo>/.data`: this file is infra/{src,dist}/store/sql-store.*. */
export const DEFAULT_DATA_DIR = fileURLToPath(new URL('../../../.data', import.meta.url));

/** Reads `DATABASE_URL`, `DATABASE_SCHEMA` and `DATA_DIR` (default `<repo>/.data`). */
export function storeOptionsFromEnv(
  service: string,
  env: NodeJS.ProcessEnv = process.env,
): StoreOptions {
  return {
    service,
    databaseUrl: env.DATABASE_URL || undefined,
    schema: env.DATABASE_SCHEMA || undefined,
    dataDir: env.DATA_DIR || DEFAULT_DATA_DIR,
  };
}

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

async function runMigrations(
  store: SqlStore,
  namespace: string,
  migrations: Migration[],
  lock: string,
) {
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  return store.transaction(async (tx) => {
    if (lock) await tx.query(lock, ['cohort.schema_migrations']);
    await tx.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      namespace text NOT NULL,
      version integer NOT NULL,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (namespace, version)
    )`);
    const { rows } = await tx.query<{ version: number }>(
      'SELECT version FROM schema_migrations WHERE namespace = $1 ORDER BY version',
      [namespace],
    );
    const applied = new Set(rows.map((r) => r.version));
    const known = new Set(sorted.map((m) => m.version));
    const unknown = [...applied].filter((v) => !known.has(v));
    if (unknown.length > 0) {
      throw new Error(
        `${namespace}: the database has migrations ${unknown.join(', ')} that this build does not know; ` +
          'it was migrated by a newer version',
      );
    }
    let ran = 0;
    for (const m of sorted) {
      if (applied.has(m.version)) continue;
      await tx.exec(m.sql);
      await tx.query(
        'INSERT INTO schema_migrations (namespace, version, name) VALUES ($1, $2, $3)',
        [namespace, m.version, m.name],
      );
      ran++;
    }
    return ran;
  });
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

class PostgresStore implements SqlStore {
  readonly kind = 'postgres';
  readonly lost = new Promise<Error>(() => undefined);
  private constructor(
    private readonly pool: pg.Pool,
    readonly location: string,
  ) {}

  static async open(url: string, schema: string, poolSize = 4): Promise<PostgresStore> {
    if (!IDENT.test(schema)) throw new Error(`invalid schema name ${JSON.stringify(schema)}`);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await admin.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    } catch (e) {
      // Two instances creating the schema at once: one wins, the other sees it exists.
      if ((e as { code?: string }).code !== '23505') throw e;
    } finally {
      await admin.end();
    }
    const pool = new pg.Pool({
      connectionString: url,
      max: poolSize,
      options: `-c search_path=${schema}`,
    });
    pool.on('error', () => undefined); // an idle client lost: the next query reconnects
    return new PostgresStore(pool, `postgres schema ${schema}`);
  }

  async query<T>(text: string, params?: unknown[]) {
    const r = await this.pool.query(text, params);
    return { rows: r.rows as T[], rowCount: r.rowCount ?? 0 };
  }

  async exec(text: string) {
    await this.pool.query(text);
  }

  async transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await fn({
        query: async <R>(text: string, params?: unknown[]) => {
          const r = await client.query(text, params);
          return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 };
        },
        exec: async (text: string) => {
          await client.query(text);
        },
      });
      await client.query('COMMIT');
      return result;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
  }

  // Several instances may start together: an advisory lock makes one migrate, the rest wait.
  migrate(namespace: string, migrations: Migration[]) {
    return runMigrations(this, namespace, migrations, 'SELECT pg_advisory_xact_lock(hashtext($1))');
  }

  async close() {
    await this.pool.end();
  }
}
