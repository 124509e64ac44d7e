import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresServer } from '../testing/postgres-server.js';
import { isDatabaseUnavailable } from './database-errors.js';
import { openStore, type SqlStore } from './sql-store.js';

const pg = PostgresServer.available();

describe.skipIf(!pg.ok)(
  `PostgreSQL store, on a server of its own${pg.ok ? '' : ` (skipped: ${pg.reason})`}`,
  () => {
    let server: PostgresServer;
    const stores: SqlStore[] = [];
    const open = async (schema: string) => {
      const store = await openStore({ service: 'pg-test', databaseUrl: server.url, schema });
      stores.push(store);
      return store;
    };

    beforeAll(async () => {
      server = await PostgresServer.start();
    });
    afterAll(async () => {
      for (const s of stores) await s.close();
      await server?.dispose();
    });

    it('fails a transaction whose connection is lost as unavailable, and carries on', async () => {
      const store = await open('lost');
      const failed = await store
        .transaction(async (tx) => {
          const { rows } = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
          // From another connection, and waiting until the backend is gone: the client is
          // between statements, so only an 'error' event of its own tells it.
          await store.query('SELECT pg_terminate_backend($1, 5000)', [rows[0]!.pid]);
          await tx.query('SELECT 1');
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(failed).toBeInstanceOf(Error);
      expect(isDatabaseUnavailable(failed)).toBe(true);
      // The broken client left the pool: every connection answers.
      const answers = await Promise.all(
        Array.from({ length: 4 }, () => store.transaction((tx) => tx.query('SELECT 1 AS x'))),
      );
      expect(answers.map((a) => a.rows)).toEqual(Array.from({ length: 4 }, () => [{ x: 1 }]));
    });

    it('opens while the server is down; the first migration once it is back creates the schema', async () => {
      await server.stop();
      try {
        const store = await open('late');
        const migration = { version: 1, name: 't', sql: 'CREATE TABLE t (x int)' };
        await expect(store.migrate('ns', [migration])).rejects.toSatisfy(isDatabaseUnavailable);
      } finally {
        await server.start();
      }
      const store = stores.at(-1)!;
      expect(
        await store.migrate('ns', [{ version: 1, name: 't', sql: 'CREATE TABLE t (x int)' }]),
      ).toBe(1);
      const { rows } = await store.query<{ schema: string }>(
        `SELECT table_schema AS schema FROM information_schema.tables WHERE table_name = 't'`,
      );
      expect(rows).toEqual([{ schema: 'late' }]);
    });
  },
);
