import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** Where `@electric-sql/pglite` is, for code that loads it outside this module graph. */
export const PGLITE_MODULE = createRequire(import.meta.url).resolve('@electric-sql/pglite');

/**
 * PostgreSQL settings for PGlite, on top of its own defaults. PGlite is one process whose
 * memory is a WebAssembly heap that never shrinks, and whose files are read through the
 * operating system's page cache: PostgreSQL's default 128 MB of shared buffers only doubles that
 * cache inside the heap (about 130 MB more resident). 16 MB keeps a batch's pages and the
 * indexes' upper levels in memory.
 */
export const PGLITE_SETTINGS = ['shared_buffers=16MB'];

/** PGlite's start parameters with PGLITE_SETTINGS. Inlined in code evaluated elsewhere. */
const START_PARAMS = `[...PGlite.defaultStartParams, ...settings.flatMap((s) => ['-c', s])]`;

/** Opens PGlite in `dir` (in memory when undefined); `PGlite` and `settings` in scope. */
export const CREATE_PGLITE = `PGlite.create(dir, { startParams: ${START_PARAMS} })`;

const INIT_SOURCE = `
const [pglite, dir, settingsJson] = process.argv.slice(1);
const { PGlite } = require(pglite);
const settings = JSON.parse(settingsJson);
${CREATE_PGLITE}
  .then((db) => db.close())
  .catch((e) => {
    process.stderr.write(String((e && e.stack) || e));
    process.exit(1);
  });
`;

/**
 * Creates a PGlite database in `dir` unless one is there, in a short-lived process of its own.
 * Creating one runs initdb in a second PostgreSQL instance beside the first, about 800 MB at its
 * peak; in the service's process that peak would stay its high-water mark, and its heap would
 * keep much of it. Opening an existing directory needs a fraction of it.
 */
export async function initDataDir(dir: string): Promise<void> {
  if (await exists(join(dir, 'PG_VERSION'))) return;
  try {
    await promisify(execFile)(
      process.execPath,
      ['-e', INIT_SOURCE, PGLITE_MODULE, dir, JSON.stringify(PGLITE_SETTINGS)],
      { maxBuffer: 16 * 1024 * 1024 },
    );
  } catch (e) {
    const stderr = (e as { stderr?: string }).stderr?.trim();
    throw new Error(`cannot create the PGlite database in ${dir}: ${stderr || String(e)}`);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
