import { access, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { initDataDir } from './pglite-data-dir.js';
import { openStore } from './sql-store.js';

describe('PGlite data directory', () => {
  it('is created once, by initDataDir, and opened with 16 MB of shared buffers', async () => {
    const root = await mkdtemp(join(tmpdir(), 'cohort-pglite-'));
    await initDataDir(join(root, 'svc'));
    await access(join(root, 'svc', 'PG_VERSION')); // created before any store opened it
    const store = await openStore({ service: 'svc', dataDir: root });
    const { rows } = await store.query<{ shared_buffers: string }>('SHOW shared_buffers');
    expect(rows).toEqual([{ shared_buffers: '16MB' }]);
    await store.exec('CREATE TABLE t (x int); INSERT INTO t VALUES (1)');
    await store.close();
    // Opening it again finds the database: no second initdb, the data is there.
    await initDataDir(join(root, 'svc'));
    const again = await openStore({ service: 'svc', dataDir: root });
    expect((await again.query('SELECT x FROM t')).rows).toEqual([{ x: 1 }]);
    await again.close();
  });

  it('says which directory it could not create', async () => {
    const root = await mkdtemp(join(tmpdir(), 'cohort-pglite-'));
    const file = join(root, 'not-a-directory');
    await writeFile(file, 'x');
    await expect(initDataDir(join(file, 'svc'))).rejects.toThrow(
      `cannot create the PGlite database in ${join(file, 'svc')}`,
    );
  });
});
