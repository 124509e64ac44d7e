import pg from 'pg';
import { isDatabaseUnavailable } from './database-errors.js';
import { runMigrations } from './migrations.js';
import type { Migration, Sql, SqlStore } from './sql-store.js';

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

/** PostgreSQL through a `pg` pool, in one schema per service (the pool's search path). */
export class PostgresStore implements SqlStore {
  readonly kind = 'postgres';
  readonly lost = new Promise<Error>(() => undefined);
  #schemaCreated: Promise<void> | undefined;
  private constructor(
    private readonly pool: pg.Pool,
    readonly location: string,
    private readonly createSchema: () => Promise<void>,
  ) {}

  /**
   * Opens the pool. A server that cannot be reached now is not an error: the pool connects
   * when it is back, and the schema is created before the first migration.
   */
  static async open(url: string, schema: string, poolSize = 4): Promise<PostgresStore> {
    if (!IDENT.test(schema)) throw new Error(`invalid schema name ${JSON.stringify(schema)}`);
    const pool = new pg.Pool({
      connectionString: url,
      max: poolSize,
      options: `-c search_path=${schema}`,
    });
    pool.on('error', () => undefined); // an idle client lost: the next query reconnects
    const store = new PostgresStore(pool, `postgres schema ${schema}`, () =>
      createSchema(url, schema),
    );
    try {
      await store.#ensureSchema();
    } catch (e) {
      if (!isDatabaseUnavailable(e)) {
        await pool.end();
        throw e;
      }
    }
    return store;
  }

  /** Creates the schema once; after a failure, the next call tries again. */
  #ensureSchema(): Promise<void> {
    this.#schemaCreated ??= this.createSchema().catch((e: unknown) => {
      this.#schemaCreated = undefined;
      throw e;
    });
    return this.#schemaCreated;
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
    // pg-pool takes its error listener off a client while it is checked out: without one, a
    // connection lost in the middle of a transaction is an unhandled 'error' event, which ends
    // the process. The statement in flight fails on its own; this only keeps the event handled.
    let lost: Error | undefined;
    const onError = (e: Error) => (lost ??= e);
    client.on('error', onError);
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
      if (!lost && isDatabaseUnavailable(e)) lost = e as Error;
      if (!lost) await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.off('error', onError);
      // Released with its error, a broken client is discarded instead of handed out again.
      client.release(lost);
    }
  }

  // Several instances may start together: an advisory lock makes one migrate, the rest wait.
  async migrate(namespace: string, migrations: Migration[]) {
    await this.#ensureSchema();
    return runMigrations(this, namespace, migrations, 'SELECT pg_advisory_xact_lock(hashtext($1))');
  }

  async close() {
    await this.pool.end();
  }
}

async function createSchema(url: string, schema: string): Promise<void> {
  const admin = new pg.Client({ connectionString: url });
  admin.on('error', () => undefined); // a lost connection also fails the query in flight
  try {
    await admin.connect();
    await admin.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  } catch (e) {
    // Two instances creating the schema at once: one wins, the other sees it exists.
    if ((e as { code?: string }).code !== '23505') throw e;
  } finally {
    await admin.end().catch(() => undefined);
  }
}
