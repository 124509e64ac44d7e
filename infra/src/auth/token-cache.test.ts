import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testTokens, TEST_AUDIENCE, TEST_ISSUER, type TestTokens } from '../testing/tokens.js';
import { tokenKeys, type TokenKeys } from './keys.js';
import { VerifiedTokens } from './token-cache.js';
import { CLOCK_TOLERANCE_SECONDS, Unauthenticated } from './verify.js';

const patient = (sub: string) => ({ sub, role: 'patient' as const, trials: ['T1'] });

let ids: TestTokens;
beforeAll(async () => {
  ids = await testTokens();
});

/** The test key set, counting how often a signature is checked against it. */
function counted(keys: TokenKeys, version = () => 0) {
  const seen = { checks: 0 };
  const wrapped: TokenKeys = {
    ...keys,
    getKey: (header, token) => {
      seen.checks++;
      return keys.getKey(header, token);
    },
    keySetVersion: version,
  };
  return { keys: wrapped, seen };
}

/** `token` with its signature replaced by `signature`'s, or its payload by `payload`'s. */
function spliced(token: string, from: string, part: 1 | 2): string {
  const a = token.split('.');
  a[part] = from.split('.')[part]!;
  return a.join('.');
}

describe('VerifiedTokens', () => {
  it('answers a repeat from the cache, and refuses the token once its own exp has passed', async () => {
    let now = Date.now();
    const { keys, seen } = counted(ids.keys);
    const cache = new VerifiedTokens(keys, { now: () => now });
    const exp = Math.floor(now / 1000) + 30;
    const token = await ids.sign(patient('P1'), { exp });
    expect((await cache.verify(token)).id).toBe('P1');
    expect((await cache.verify(token)).id).toBe('P1');
    expect(seen.checks).toBe(1);
    // Still within the clock tolerance: still a hit.
    now = (exp + CLOCK_TOLERANCE_SECONDS - 1) * 1000;
    expect((await cache.verify(token)).id).toBe('P1');
    expect(seen.checks).toBe(1);
    now = (exp + CLOCK_TOLERANCE_SECONDS) * 1000;
    await expect(cache.verify(token)).rejects.toBeInstanceOf(Unauthenticated);
    expect(cache.size).toBe(0);
  });

  it('refuses a token before its nbf even once cached', async () => {
    let now = Date.now();
    const nbf = Math.floor(now / 1000) + 10;
    const { keys } = counted(ids.keys);
    const cache = new VerifiedTokens(keys, { now: () => now });
    const token = await ids.sign(patient('P1'), { nbf });
    await cache.verify(token);
    now = (nbf - CLOCK_TOLERANCE_SECONDS - 1) * 1000;
    await expect(cache.verify(token)).rejects.toBeInstanceOf(Unauthenticated);
  });

  it('never admits a bad signature, even after a good token with the same claims', async () => {
    const { keys } = counted(ids.keys);
    const cache = new VerifiedTokens(keys);
    const good = await ids.sign(patient('P1'));
    const other = await testTokens();
    // The same claims, header and kid, signed by a key the set does not hold.
    const forged = await new SignJWT({ role: 'patient', trials: ['T1'] })
      .setProtectedHeader({ alg: 'ES256', kid: ids.kid, typ: 'JWT' })
      .setSubject('P1')
      .setIssuer(TEST_ISSUER)
      .setAudience(TEST_AUDIENCE)
      .setIssuedAt()
      .setNotBefore('0s')
      .setExpirationTime('1h')
      .sign(other.privateKey);
    await expect(cache.verify(forged)).rejects.toBeInstanceOf(Unauthenticated);
    expect(cache.size).toBe(0);
    await cache.verify(good);
    await expect(cache.verify(forged)).rejects.toBeInstanceOf(Unauthenticated);
    await expect(cache.verify(spliced(good, forged, 2))).rejects.toBeInstanceOf(Unauthenticated);
    await expect(cache.verify(forged)).rejects.toBeInstanceOf(Unauthenticated);
    expect(cache.size).toBe(1);
  });

  it('refuses a tampered token: a cached token with another payload is another token', async () => {
    const cache = new VerifiedTokens(ids.keys);
    const mine = await ids.sign(patient('P1'));
    const gateway = await ids.sign({ sub: 'gw', role: 'system', trials: ['*'] });
    await cache.verify(mine);
    await cache.verify(gateway);
    // P1's signature under the gateway's claims, and the gateway's under P1's.
    await expect(cache.verify(spliced(mine, gateway, 1))).rejects.toBeInstanceOf(Unauthenticated);
    await expect(cache.verify(spliced(gateway, mine, 1))).rejects.toBeInstanceOf(Unauthenticated);
    await expect(cache.verify(`${mine}x`)).rejects.toBeInstanceOf(Unauthenticated);
    expect((await cache.verify(mine)).role).toBe('patient');
  });

  it('keeps at most maxEntries, dropping the oldest', async () => {
    const { keys, seen } = counted(ids.keys);
    const cache = new VerifiedTokens(keys, { maxEntries: 3 });
    const tokens = await Promise.all(['A', 'B', 'C', 'D', 'E'].map((p) => ids.sign(patient(p))));
    for (const t of tokens) await cache.verify(t);
    expect(cache.size).toBe(3);
    expect(seen.checks).toBe(5);
    await cache.verify(tokens[4]!); // kept
    expect(seen.checks).toBe(5);
    await cache.verify(tokens[0]!); // dropped: verified again
    expect(seen.checks).toBe(6);
    expect(cache.size).toBe(3);
  });

  it('verifies a token again once its entry is maxAgeMs old', async () => {
    let now = Date.now();
    const { keys, seen } = counted(ids.keys);
    const cache = new VerifiedTokens(keys, { now: () => now, maxAgeMs: 1_000 });
    const token = await ids.sign(patient('P1'));
    await cache.verify(token);
    now += 999;
    await cache.verify(token);
    expect(seen.checks).toBe(1);
    now += 1;
    await cache.verify(token);
    expect(seen.checks).toBe(2);
  });

  it('drops every entry when the key set is fetched again', async () => {
    let version = 0;
    const { keys, seen } = counted(ids.keys, () => version);
    const cache = new VerifiedTokens(keys);
    const token = await ids.sign(patient('P1'));
    await cache.verify(token);
    await cache.verify(token);
    expect(seen.checks).toBe(1);
    version++;
    await cache.verify(token);
    expect(seen.checks).toBe(2);
    expect(cache.size).toBe(1);
  });
});

describe('a remote key set', () => {
  const server = createServer();
  let url: string;
  let jwks: unknown;
  beforeAll(async () => {
    server.on('request', (_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(jwks));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('counts each fetch of the key set as a new version', async () => {
    const { publicKey } = await generateKeyPair('ES256');
    jwks = {
      keys: [{ ...(await exportJWK(publicKey)), kid: 'other', alg: 'ES256' }, ...ids.jwks.keys],
    };
    const keys = await tokenKeys(
      { COHORT_JWKS_URL: url, COHORT_JWT_ISSUER: TEST_ISSUER, COHORT_JWT_AUDIENCE: TEST_AUDIENCE },
      '.',
    );
    expect(keys.keySetVersion?.()).toBe(0);
    const cache = new VerifiedTokens(keys);
    expect((await cache.verify(await ids.sign(patient('P1')))).id).toBe('P1');
    expect(keys.keySetVersion?.()).toBe(1);
  });
});
