import { createHmac, createPublicKey, webcrypto, type JsonWebKey } from 'node:crypto';
import { TEST_AUDIENCE, TEST_ISSUER } from '@cohort/infra/testing';
import { identity } from './identity.js';

/**
 * Tokens built by hand with node:crypto, not with the library the services verify with: a
 * forgery is exactly the bytes an attacker would send, whatever that library would refuse to
 * sign.
 */

type Json = Record<string, unknown>;

const b64url = (bytes: Uint8Array | string) => Buffer.from(bytes).toString('base64url');
const signingInput = (header: Json, payload: Json) =>
  `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;

/** Seconds since the epoch, as JWT times are. */
export const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A payload the services would accept (valid for an hour); `over` replaces or adds claims. */
export function payload(over: Json = {}): Json {
  const now = nowSeconds();
  return {
    sub: 'forged-caller',
    role: 'sponsor',
    trials: ['*'],
    iss: TEST_ISSUER,
    aud: TEST_AUDIENCE,
    iat: now,
    nbf: now,
    exp: now + 3600,
    ...over,
  };
}

/** ES256 with `privateKey` (default: the trusted test key) and the trusted `kid` unless given. */
export async function es256(
  claims: Json,
  opts: { privateKey?: webcrypto.CryptoKey; kid?: string } = {},
): Promise<string> {
  const header = { alg: 'ES256', typ: 'JWT', kid: opts.kid ?? identity.kid };
  const input = signingInput(header, claims);
  const sig = await webcrypto.subtle.sign(
    { name: 'ECDSA', hash: 'SHA-256' },
    opts.privateKey ?? identity.privateKey,
    new TextEncoder().encode(input),
  );
  return `${input}.${b64url(new Uint8Array(sig))}`;
}

/** `alg: none`: no signature at all. */
export function unsigned(claims: Json): string {
  return `${signingInput({ alg: 'none', typ: 'JWT', kid: identity.kid }, claims)}.`;
}

/** HS256 with `secret` as the HMAC key, naming the trusted key's `kid`. */
export function hs256(claims: Json, secret: string | Uint8Array): string {
  const input = signingInput({ alg: 'HS256', typ: 'JWT', kid: identity.kid }, claims);
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** The trusted public key in the forms an algorithm-confusion attack uses as an HMAC secret. */
export function publicKeyForms(): Record<string, string | Uint8Array> {
  const jwk = identity.jwks.keys[0]!;
  const key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
  return {
    'its PEM (SPKI)': key.export({ type: 'spki', format: 'pem' }),
    'its DER (SPKI)': key.export({ type: 'spki', format: 'der' }),
    'its JWK as JSON': JSON.stringify(jwk),
  };
}

/** A key pair the services do not know. */
export async function strangerKey(): Promise<webcrypto.CryptoKey> {
  const pair = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, [
    'sign',
    'verify',
  ]);
  return pair.privateKey;
}
