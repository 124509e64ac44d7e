import { createHash } from 'node:crypto';
import { runMigrations } from '../store/migrations.js';
import type { Migration, Sql, SqlStore } from '../store/sql-store.js';
import { INBOX_MIGRATIONS } from '../subscriber/inbox.js';
import type { Projection } from '../subscriber/projection.js';

/**
 * Tables of a shadow schema that are not the projection's own read model: the inbox (handed
 * over by consumer), the outbox (merged by id) and the migration ledger (left behind). The
 * outbox is listed among a projection's migrations, but its rows are effects, not state.
 */
export const RUNTIME_TABLES = ['cohort_inbox', 'cohort_outbox', 'schema_migrations'];

const IDENTIFIER_MAX = 63;

/** Double-quotes an SQL identifier. */
export function quoted(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** The schema the store's unqualified names resolve to now: the live read models. */
export async function liveSchema(db: Sql): Promise<string> {
  const { rows } = await db.query<{ schema: string }>('SELECT current_schema() AS schema');
  return rows[0]!.schema;
}

/**
 * The shadow schema of `consumer` beside `live`: one per live schema and projection, so two
 * services (or two test schemas) on one PostgreSQL database never share one.
 */
export function shadowSchemaName(live: string, consumer: string): string {
  const name = `${live}_rebuild_${consumer}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  if (name.length <= IDENTIFIER_MAX) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 10);
  return `${name.slice(0, IDENTIFIER_MAX - 11)}_${hash}`;
}

/**
 * The store seen from a shadow schema: every transaction (and statement) resolves unqualified
 * names first in `shadow`, then in `live`. A projection's statements are unchanged: they write
 * the shadow's tables (its own, its inbox, its outbox), and still read what another projection
 * keeps in the live schema (monitoring's diaries read the trials' safety rules).
 */
export function shadowStore(store: SqlStore, shadow: string, live: string): SqlStore {
  const path = `SET LOCAL search_path TO ${quoted(shadow)}, ${quoted(live)}`;
  const transaction = <T>(fn: (tx: Sql) => Promise<T>): Promise<T> =>
    store.transaction(async (tx) => {
      await tx.query(path);
      return fn(tx);
    });
  const shadowed: SqlStore = {
    kind: store.kind,
    location: `${store.location} (shadow schema ${shadow})`,
    lost: store.lost,
    transaction,
    query: (text, params) => transaction((tx) => tx.query(text, params)),
    exec: (text) => transaction((tx) => tx.exec(text)),
    // One rebuild per projection at a time (its lease): no lock needed.
    migrate: (namespace: string, migrations: Migration[]) =>
      runMigrations(shadowed, namespace, migrations, ''),
    close: () => Promise.resolve(),
  };
  return shadowed;
}

/** Creates the shadow schema if missing and runs the inbox's and the projection's migrations there. */
export async function prepareShadow(
  store: SqlStore,
  projection: Projection,
  shadow: string,
  live: string,
): Promise<SqlStore> {
  await store.exec(`CREATE SCHEMA IF NOT EXISTS ${quoted(shadow)}`);
  const shadowed = shadowStore(store, shadow, live);
  await shadowed.migrate('cohort', INBOX_MIGRATIONS);
  await shadowed.migrate(projection.consumer.name, projection.migrations);
  return shadowed;
}

export async function dropShadow(db: Sql, shadow: string): Promise<void> {
  await db.exec(`DROP SCHEMA IF EXISTS ${quoted(shadow)} CASCADE`);
}

/** The tables of `schema`, by name. */
export async function tablesOf(db: Sql, schema: string): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables
     WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY table_name`,
    [schema],
  );
  return rows.map((r) => r.name);
}

/** The read model's own tables among `tables` (those a swap replaces). */
export function readModelTables(tables: string[]): string[] {
  return tables.filter((t) => !RUNTIME_TABLES.includes(t));
}

/** Thrown to roll back a transaction on purpose. */
class RolledBack extends Error {
  constructor(readonly tables: string[]) {
    super('rolled back');
  }
}

/**
 * The tables a rebuild of `projection` would build, found by running its migrations in a
 * scratch schema inside a transaction that is rolled back: nothing is left behind.
 */
export async function plannedTables(store: SqlStore, projection: Projection): Promise<string[]> {
  const scratch = `cohort_rebuild_plan_${crypto.randomUUID().replaceAll('-', '').slice(0, 12)}`;
  try {
    await store.transaction(async (tx) => {
      await tx.exec(`CREATE SCHEMA ${quoted(scratch)}`);
      await tx.query(`SET LOCAL search_path TO ${quoted(scratch)}`);
      for (const m of [...projection.migrations].sort((a, b) => a.version - b.version))
        await tx.exec(m.sql);
      throw new RolledBack(readModelTables(await tablesOf(tx, scratch)));
    });
  } catch (e) {
    if (e instanceof RolledBack) return e.tables;
    throw e;
  }
  return [];
}
