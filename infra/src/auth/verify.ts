import type { JWSAlgorithm, JWTPayload } from 'jose';
import * as errors from 'jose/errors';
import { jwtVerify } from 'jose/jwt/verify';
import { fieldIssues } from '@cohort/contracts';
import { CallerClaims, type Caller } from './caller.js';
import type { TokenKeys } from './keys.js';

/**
 * Algorithms a token may be signed with: asymmetric only. `none` and every HS* are refused
 * whatever a token's header says, so a public key can never be used as an HMAC secret.
 */
export const ALGORITHMS: JWSAlgorithm[] = ['ES256', 'RS256', 'EdDSA'];
/** Clock difference tolerated on `exp` and `nbf`. */
export const CLOCK_TOLERANCE_SECONDS = 60;

/** The token is missing, malformed, expired, not ours, or not signed by a key we trust. */
export class Unauthenticated extends Error {
  override readonly name = 'Unauthenticated';
}

/** The key set could not be fetched: not the caller's fault; retry later. */
export class KeysUnavailable extends Error {
  override readonly name = 'KeysUnavailable';
}

/**
 * Verifies a bearer token: signature with a trusted key (by `kid`), a pinned asymmetric
 * algorithm, `iss` and `aud`, `exp` required, `nbf` honoured, then the claims Cohort needs.
 */
export async function verifyToken(keys: TokenKeys, token: string): Promise<Caller> {
  return (await verifiedToken(keys, token)).caller;
}

/** A verified token: its caller, and the times it is valid between (seconds; `nbf` 0 if none). */
export interface VerifiedToken {
  caller: Caller;
  exp: number;
  nbf: number;
}

/** `verifyToken`, with the token's `exp` and `nbf`, at the time `nowMs` (the clock's). */
export async function verifiedToken(
  keys: TokenKeys,
  token: string,
  nowMs?: number,
): Promise<VerifiedToken> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, keys.getKey, {
      algorithms: ALGORITHMS,
      issuer: keys.issuer,
      audience: keys.audience,
      requiredClaims: ['exp', 'iss', 'aud', 'sub'],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      ...(nowMs === undefined ? {} : { currentDate: new Date(nowMs) }),
    }));
  } catch (e) {
    if (e instanceof errors.JWKSTimeout || !(e instanceof errors.JOSEError)) {
      throw new KeysUnavailable('the token keys cannot be fetched', { cause: e });
    }
    throw new Unauthenticated(e.message);
  }
  const claims = CallerClaims.safeParse(payload);
  if (!claims.success) {
    const issues = fieldIssues(claims.error).map((i) => `${i.path} ${i.message}`);
    throw new Unauthenticated(`token claims: ${issues.join('; ')}`);
  }
  return {
    caller: {
      id: claims.data.sub,
      role: claims.data.role,
      trials: new Set(claims.data.trials),
    },
    // jose checked both are numeric dates, and that `exp` is present.
    exp: payload.exp!,
    nbf: payload.nbf ?? 0,
  };
}
