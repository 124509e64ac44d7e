import type { Sql } from '../store/sql-store.js';

/** Bookkeeping that differs between two equal read models: when a row was applied. */
const LEFT_OUT: Record<string, string[]> = { cohort_inbox: ['applied_at'] };
/** Tables that say how a read model was built, not what it holds. */
const NOT_READ_MODELS = ['schema_migrations', 'cohort_rebuilds'];

/**
 * Every row of every table in the schema `db` resolves names in, as JSON text sorted per table:
 * two stores (or one store before and after a change) hold the same read models exactly when
 * their results are equal. The inbox is compared without when each key was applied.
 */
export async function readModelRows(db: Sql): Promise<Record<string, string[]>> {
  const { rows: tables } = await db.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables
     WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`,
  );
  const out: Record<string, string[]> = {};
  for (const { name } of tables) {
    if (NOT_READ_MODELS.includes(name)) continue;
    const drop = (LEFT_OUT[name] ?? []).map((c) => ` - '${c}'`).join('');
    const { rows } = await db.query<{ r: string }>(
      `SELECT (to_jsonb(t)${drop})::text AS r FROM "${name}" t ORDER BY 1`,
    );
    out[name] = rows.map((x) => x.r);
  }
  return out;
}
