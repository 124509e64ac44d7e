import { fileURLToPath } from 'node:url';

/** `<repo>/.data`: this file is infra/{src,dist}/data-dir.*. */
export const DEFAULT_DATA_DIR = fileURLToPath(new URL('../../.data', import.meta.url));

/** Local data of this installation: `DATA_DIR`, else `<repo>/.data`. */
export function dataDirFrom(env: NodeJS.ProcessEnv = process.env): string {
  return env.DATA_DIR || DEFAULT_DATA_DIR;
}
