import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { publishedFiles } from './files.js';

/** `contracts/generated/`: where the published contracts are checked in. */
export const GENERATED_DIR = fileURLToPath(new URL('../../generated/', import.meta.url));
/** The contracts package's own version: the version of the AsyncAPI document. */
export function contractsVersion(): string {
  const pkg = fileURLToPath(new URL('../../package.json', import.meta.url));
  return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
}

/**
 * `npm run contracts:export`: writes the published contracts into `contracts/generated/`, and
 * removes any file there that is no longer published (an event version dropped or renamed).
 */
function main(): void {
  const files = publishedFiles({ version: contractsVersion() });
  mkdirSync(GENERATED_DIR, { recursive: true });
  for (const name of readdirSync(GENERATED_DIR)) {
    if (!files.has(name)) rmSync(join(GENERATED_DIR, name));
  }
  for (const [name, text] of files) writeFileSync(join(GENERATED_DIR, name), text);
  console.log(`wrote ${files.size} files to ${GENERATED_DIR}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
