import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Role } from '@cohort/contracts';
import {
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JWK,
} from 'jose';
import type { TokenKeys } from '../auth/keys.js';

/** Claims of a test token. */
export interface TokenClaims {
  sub: string;
  role: Role;
  trials: string[];
}

/** Issuer and audience of test tokens. */
export const TEST_ISSUER = 'https://id.test.cohort';
export const TEST_AUDIENCE = 'cohort-test';

export interface TestTokens {
  /** For an app in the test's process. */
  keys: TokenKeys;
  /** For services started as processes: `COHORT_JWKS_FILE`, issuer and audience. */
  env: Record<string, string>;
  /** The public key set, as a JWKS file holds it. */
  jwks: { keys: JWK[] };
  /** The private key, for tests that forge tokens on purpose. */
  privateKey: CryptoKey;
  kid: string;
  /** A valid token (ES256, one hour) with these claims; `over` replaces any of its parts. */
  sign(
    claims: TokenClaims,
    over?: {
      exp?: number | string;
      nbf?: number | string;
      iss?: string;
      aud?: string;
      kid?: string;
    },
  ): Promise<string>;
  /** `{ authorization: 'Bearer …' }` for `sign(claims)`. */
  header(claims: TokenClaims): Promise<Record<string, string>>;
}

/**
 * A key pair of an identity provider for tests: its public key set in a JWKS file (the
 * `configured` key mode the services run with in production) and tokens signed with it.
 */
export async function testTokens(): Promise<TestTokens> {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = `test-${crypto.randomUUID().slice(0, 8)}`;
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] };
  const file = join(await mkdtemp(join(tmpdir(), 'cohort-jwks-')), 'jwks.json');
  await writeFile(file, JSON.stringify(jwks));
  const sign: TestTokens['sign'] = (claims, over = {}) =>
    new SignJWT({ role: claims.role, trials: claims.trials })
      .setProtectedHeader({ alg: 'ES256', kid: over.kid ?? kid, typ: 'JWT' })
      .setSubject(claims.sub)
      .setIssuer(over.iss ?? TEST_ISSUER)
      .setAudience(over.aud ?? TEST_AUDIENCE)
      .setIssuedAt()
      .setNotBefore(over.nbf ?? '0s')
      .setExpirationTime(over.exp ?? '1h')
      .sign(privateKey);
  return {
    keys: {
      mode: 'configured',
      getKey: createLocalJWKSet(jwks),
      issuer: TEST_ISSUER,
      audience: TEST_AUDIENCE,
    },
    env: {
      COHORT_JWKS_FILE: file,
      COHORT_JWT_ISSUER: TEST_ISSUER,
      COHORT_JWT_AUDIENCE: TEST_AUDIENCE,
    },
    jwks,
    privateKey,
    kid,
    sign,
    header: async (claims) => ({ authorization: `Bearer ${await sign(claims)}` }),
  };
}

/**
 * Makes every `app.request()` carry `headers` (a token) unless the call gives its own
 * `authorization`: tests written for the API's behaviour call it as a permitted caller would.
 */
export function authenticatedAs<
  A extends { request(input: string, init?: RequestInit): Response | Promise<Response> },
>(app: A, headers: Record<string, string>): A {
  const request = app.request.bind(app);
  app.request = (input: string, init: RequestInit = {}) => {
    const given = new Headers(init.headers);
    for (const [k, v] of Object.entries(headers)) if (!given.has(k)) given.set(k, v);
    return request(input, { ...init, headers: given });
  };
  return app;
}
