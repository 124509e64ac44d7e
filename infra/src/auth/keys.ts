import { readFile } from 'node:fs/promises';
// jose by its parts: its index loads about 180 modules, which a CLI command pays at every start.
import type { JSONWebKeySet, JWTVerifyGetKey } from 'jose';
import { createLocalJWKSet } from 'jose/jwks/local';
import { createRemoteJWKSet, customFetch } from 'jose/jwks/remote';
import { z } from 'zod';
import { envString } from '../config.js';
import { developmentKeys } from './development-keys.js';

/** Where token keys come from, and what tokens must say about themselves. */
export const AuthEnv = z.object({
  /** A remote JWK set (the identity provider's `jwks_uri`), cached and refreshed on an unknown `kid`. */
  COHORT_JWKS_URL: envString(),
  /** A JWK set in a file. */
  COHORT_JWKS_FILE: envString(),
  /** The `iss` every token must carry; required with either key source. */
  COHORT_JWT_ISSUER: envString(),
  /** The `aud` every token must include; required with either key source. */
  COHORT_JWT_AUDIENCE: envString(),
  NODE_ENV: envString(),
});
export type AuthEnv = z.infer<typeof AuthEnv>;

/** Issuer and audience of development tokens. */
export const DEVELOPMENT_ISSUER = 'cohort-development';
export const DEVELOPMENT_AUDIENCE = 'cohort';

/** How a service verifies tokens: the keys, and the issuer and audience they must name. */
export interface TokenKeys {
  /** `development`: the local key set under `<DATA_DIR>/auth/`; `configured`: the operator's. */
  mode: 'development' | 'configured';
  getKey: JWTVerifyGetKey;
  issuer: string;
  audience: string;
  /**
   * Changes each time the key set is fetched again (a remote set, on an unknown `kid` or once
   * stale), so that what was verified with the previous set can be dropped; absent: never.
   */
  keySetVersion?: () => number;
}

/** Configuration that cannot verify tokens safely. */
export class AuthConfigError extends Error {
  override readonly name = 'AuthConfigError';
}

/**
 * The keys tokens are verified with: `COHORT_JWKS_URL` or `COHORT_JWKS_FILE` (with
 * `COHORT_JWT_ISSUER` and `COHORT_JWT_AUDIENCE`); with neither, the development key set under
 * `<dataDir>/auth/` (created on first use) — refused when `NODE_ENV=production`.
 */
export async function tokenKeys(config: AuthEnv, dataDir: string): Promise<TokenKeys> {
  const configured = config.COHORT_JWKS_URL ?? config.COHORT_JWKS_FILE;
  if (!configured) {
    if (config.NODE_ENV === 'production') {
      throw new AuthConfigError(
        'NODE_ENV is production and no token keys are configured: set COHORT_JWKS_URL or ' +
          'COHORT_JWKS_FILE, with COHORT_JWT_ISSUER and COHORT_JWT_AUDIENCE',
      );
    }
    const dev = await developmentKeys(dataDir);
    return {
      mode: 'development',
      getKey: createLocalJWKSet(dev.publicSet),
      issuer: DEVELOPMENT_ISSUER,
      audience: DEVELOPMENT_AUDIENCE,
    };
  }
  if (config.COHORT_JWKS_URL && config.COHORT_JWKS_FILE) {
    throw new AuthConfigError('set one of COHORT_JWKS_URL and COHORT_JWKS_FILE, not both');
  }
  if (!config.COHORT_JWT_ISSUER || !config.COHORT_JWT_AUDIENCE) {
    throw new AuthConfigError(
      'COHORT_JWT_ISSUER and COHORT_JWT_AUDIENCE are required with token keys',
    );
  }
  const common = {
    mode: 'configured' as const,
    issuer: config.COHORT_JWT_ISSUER,
    audience: config.COHORT_JWT_AUDIENCE,
  };
  if (config.COHORT_JWKS_URL) {
    let fetches = 0;
    const getKey = createRemoteJWKSet(new URL(config.COHORT_JWKS_URL), {
      [customFetch]: async (...args: Parameters<typeof fetch>) => {
        const res = await fetch(...args);
        fetches++;
        return res;
      },
    });
    return { ...common, getKey, keySetVersion: () => fetches };
  }
  const file = JSON.parse(await readFile(config.COHORT_JWKS_FILE!, 'utf8')) as JSONWebKeySet;
  return { ...common, getKey: createLocalJWKSet(file) };
}
