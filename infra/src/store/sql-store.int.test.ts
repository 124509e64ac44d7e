import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { testStores } from '../testing/stores.js';
import { openStore, type SqlStore } from './sql-store.js';

describe.each(testStores())('SQL store on $kind', ({ open, cleanup }) => {
  afterAll(cleanup);

  it('applies migrations once, in order, and refuses a database migrated by a newer build', async () => {
    const store = await open();
    const v1 = { version: 1, name: 'a', sql: 'CREATE TABLE a (x int); INSERT INTO a VALUES (1);' };
    const v2 = { version: 2, name: 'b', sql: 'ALTER TABLE a ADD COLUMN y text;' };
    expect(await store.migrate('ns', [v2, v1])).toBe(2);
    expect(await store.migrate('ns', [v1, v2])).toBe(0);
    expect(
      await store.migrate(
        'other',
        [v1].map((m) => ({ ...m, sql: 'CREATE TABLE b (x int)' })),
      ),
    ).toBe(1);
    await expect(store.migrate('ns', [v1])).rejects.toThrow(
      /migrations 2 that this build does not know/,
    );
    expect((await store.query('SELECT x, y FROM a')).rows).toEqual([{ x: 1, y: null }]);
    await store.close();
  });

  it('commits a transaction that resolves and rolls back one that throws', async () => {
    const store = await open();
    await store.exec('CREATE TABLE t (x int)');
    await store.transaction((tx) => tx.query('INSERT INTO t VALUES (1)'));
    await expect(
      store.transaction(async (tx) => {
        await tx.query('INSERT INTO t VALUES (2)');
        throw new Error('no');
      }),
    ).rejects.toThrow('no');
    expect((await store.query<{ x: number }>('SELECT x FROM t')).rows).toEqual([{ x: 1 }]);
    await store.close();
  });

  it('keeps statements outside a transaction out of it until it ends', async () => {
    const store = await open();
    await store.exec('CREATE TABLE u (x int)');
    let inside!: () => void;
    const started = new Promise<void>((r) => (inside = r));
    const tx = store.transaction(async (t) => {
      await t.query('INSERT INTO u VALUES (1)');
      inside();
      await new Promise((r) => setTimeout(r, 100));
      throw new Error('rolled back');
    });
    await started;
    // Issued while the transaction is open: it must neither see nor join its uncommitted row.
    const count = store.query<{ n: number }>('SELECT count(*)::int AS n FROM u');
    await expect(tx).rejects.toThrow('rolled back');
    expect((await count).rows).toEqual([{ n: 0 }]);
    await store.close();
  });

  it('counts rows returned or changed, as node-postgres does', async () => {
    const store = await open();
    await store.exec('CREATE TABLE c (x int)');
    expect((await store.query('INSERT INTO c VALUES (1), (2), (3)')).rowCount).toBe(3);
    expect((await store.query('SELECT x FROM c WHERE x > 1')).rowCount).toBe(2);
    expect((await store.query('UPDATE c SET x = x + 1 WHERE x > 5')).rowCount).toBe(0);
    expect((await store.query('DELETE FROM c WHERE x < 3 RETURNING x')).rowCount).toBe(2);
    await store.close();
  });

  it('reports database errors with their SQLSTATE code and carries on', async () => {
    const store = await open();
    await store.exec('CREATE TABLE k (id int PRIMARY KEY)');
    await store.query('INSERT INTO k VALUES (1)');
    await expect(store.query('INSERT INTO k VALUES (1)')).rejects.toMatchObject({
      code: '23505',
      message: expect.stringMatching(/duplicate key/) as unknown,
    });
    await expect(store.query('SELECT nope FROM k')).rejects.toMatchObject({ code: '42703' });
    expect((await store.query('SELECT id FROM k')).rows).toEqual([{ id: 1 }]);
    await store.close();
    await expect(store.query('SELECT 1')).rejects.toThrow();
  });
});

describe('PGlite store', () => {
  it('refuses a data directory PGlite cannot open, with the reason, instead of waiting', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'cohort-store-'));
    await mkdir(join(dataDir, 'test'));
    await writeFile(join(dataDir, 'test', 'PG_VERSION'), '99\n'); // not a database we can read
    await expect(openStore({ service: 'test', dataDir })).rejects.toThrow(/PGlite/);
  });

  it('says when its worker thread dies, and fails what was pending and what follows', async () => {
    const store = await openStore({ service: 'test' });
    const closedLater = await openStore({ service: 'test' });
    await store.exec('CREATE TABLE w (x int)');
    const pending = store.query('SELECT pg_sleep(0.5)');
    await (store as SqlStore & { abort(): Promise<void> }).abort();
    await expect(pending).rejects.toThrow(/worker exited/);
    await expect(store.query('SELECT 1')).rejects.toThrow(/worker exited/);
    await expect(store.lost).resolves.toBeInstanceOf(Error);
    // A store closed on purpose is not lost.
    await closedLater.close();
    const settled = await Promise.race([
      closedLater.lost.then(() => 'lost'),
      new Promise((r) => setTimeout(() => r('still open'), 200)),
    ]);
    expect(settled).toBe('still open');
  });
});

describe.runIf(process.env.DATABASE_URL)('PostgreSQL store', () => {
  it("names a service's schema after it, as an identifier", async () => {
    const schema = `project_management_${crypto.randomUUID().slice(0, 8)}`;
    const store = await openStore({
      service: schema.replaceAll('_', '-'),
      databaseUrl: process.env.DATABASE_URL,
    });
    expect(store.location).toBe(`postgres schema ${schema}`);
    await store.exec(`DROP SCHEMA ${schema} CASCADE`);
    await store.close();
  });
});
