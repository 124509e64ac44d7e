import { randomUUID } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CryptoKey, JSONWebKeySet, JWK } from 'jose';
import { calculateJwkThumbprint } from 'jose/jwk/thumbprint';
import { exportJWK } from 'jose/key/export';
import { generateKeyPair } from 'jose/key/generate/keypair';
import { importJWK } from 'jose/key/import';

/** The development key's algorithm: asymmetric, as every accepted token's must be. */
export const DEVELOPMENT_ALG = 'ES256';

export interface DevelopmentKeys {
  /** What services verify with. */
  publicSet: JSONWebKeySet;
  kid: string;
  /** What `cohort token` signs with. */
  privateKey: CryptoKey;
}

/**
 * The development key set under `<dataDir>/auth/`, created on first use: a private key in
 * `development-key.jwk.json` (mode 0600). Services and the CLI that start together race to
 * create it; exactly one file wins (written aside, then hard-linked into place, which fails if
 * the file exists) and every process reads that one.
 */
export async function developmentKeys(dataDir: string): Promise<DevelopmentKeys> {
  const dir = join(dataDir, 'auth');
  const file = join(dir, 'development-key.jwk.json');
  let jwk = await readJwk(file);
  if (!jwk) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const { privateKey } = await generateKeyPair(DEVELOPMENT_ALG, { extractable: true });
    const candidate = await exportJWK(privateKey);
    candidate.kid = await calculateJwkThumbprint(candidate);
    candidate.alg = DEVELOPMENT_ALG;
    const aside = `${file}.${randomUUID()}`;
    await writeFile(aside, JSON.stringify(candidate), { mode: 0o600 });
    await link(aside, file).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    });
    await unlink(aside);
    jwk = await readJwk(file);
    if (!jwk) throw new Error(`cannot read the development key ${file}`);
  }
  const publicJwk: JWK = { ...jwk };
  delete publicJwk.d; // the private part
  return {
    publicSet: { keys: [{ ...publicJwk, use: 'sig' }] },
    kid: jwk.kid!,
    privateKey: (await importJWK(jwk, DEVELOPMENT_ALG)) as CryptoKey,
  };
}

async function readJwk(file: string): Promise<JWK | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as JWK;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}
