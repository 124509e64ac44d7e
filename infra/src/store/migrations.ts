import type { Migration, SqlStore } from './sql-store.js';

/**
 * Applies the migrations of `namespace` not yet applied, in one transaction, after `lock` (a
 * statement taking `$1`, or '' for none); returns how many ran.
 */
export async function runMigrations(
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
