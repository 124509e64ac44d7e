import pg from 'pg';
import { openStore, type SqlStore } from '../store/sql-store.js';

export interface TestStore {
  kind: 'pglite' | 'postgres';
  /** Opens a fresh, empty store (PGlite in memory, or a new PostgreSQL schema). */
  open: () => Promise<SqlStore>;
  /** Removes everything `open()` created. */
  cleanup: () => Promise<void>;
}

/**
 * The stores every projection test runs on: PGlite always, and PostgreSQL too when
 * `DATABASE_URL` is set (each test store in a schema of its own, dropped afterwards).
 */
export function testStores(env: NodeJS.ProcessEnv = process.env): TestStore[] {
  const stores: TestStore[] = [
    {
      kind: 'pglite',
      open: () => openStore({ service: 'test' }),
      cleanup: () => Promise.resolve(),
    },
  ];
  const url = env.DATABASE_URL;
  if (url) {
    const schemas: string[] = [];
    stores.push({
      kind: 'postgres',
      open: () => {
        const schema = `t_${crypto.randomUUID().replaceAll('-', '').slice(0, 16)}`;
        schemas.push(schema);
        return openStore({ service: 'test', databaseUrl: url, schema });
      },
      cleanup: async () => {
        if (schemas.length === 0) return;
        const c = new pg.Client({ connectionString: url });
        await c.connect();
        for (const s of schemas.splice(0)) await c.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
        await c.end();
      },
    });
  }
  return stores;
}
