import { Role } from '@cohort/contracts';
import { SignJWT } from 'jose/jwt/sign';
import type { Caller } from '../auth/caller.js';
import { developmentKeys } from '../auth/development-keys.js';
import { AuthEnv, DEVELOPMENT_AUDIENCE, DEVELOPMENT_ISSUER, tokenKeys } from '../auth/keys.js';
import { authorize, Forbidden, type Action, type Resource } from '../auth/policy.js';
import { Unauthenticated, verifyToken } from '../auth/verify.js';
import { loadConfig } from '../config.js';
import { DEFAULT_DATA_DIR } from '../data-dir.js';
import { UsageError } from './errors.js';

/** Longest life of a development token: a working day. */
export const MAX_DEVELOPMENT_TTL_SECONDS = 24 * 3600;

const dataDir = () => process.env.DATA_DIR || DEFAULT_DATA_DIR;

/** True when tokens are verified with the development key set (no key configuration). */
export function developmentMode(env: NodeJS.ProcessEnv = process.env): boolean {
  const c = loadConfig(AuthEnv, env);
  return !c.COHORT_JWKS_URL && !c.COHORT_JWKS_FILE;
}

/**
 * A token signed with the development key set under `<DATA_DIR>/auth/`, which services verify
 * when no keys are configured. Refused when keys come from elsewhere: only their owner signs.
 */
export async function developmentToken(claims: {
  sub: string;
  role: Role;
  trials: string[];
  ttlSeconds: number;
}): Promise<string> {
  if (!developmentMode()) {
    throw new UsageError(
      'token keys are configured (COHORT_JWKS_URL or COHORT_JWKS_FILE): get a token from their ' +
        'identity provider; the development key signs only for local development',
    );
  }
  const keys = await developmentKeys(dataDir());
  return new SignJWT({ role: claims.role, trials: claims.trials })
    .setProtectedHeader({ alg: 'ES256', kid: keys.kid, typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuer(DEVELOPMENT_ISSUER)
    .setAudience(DEVELOPMENT_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${claims.ttlSeconds}s`)
    .sign(keys.privateKey);
}

/** `1h`, `30m`, `90s`, `2d` -> seconds. */
export function parseTtl(ttl: string): number {
  const m = /^(\d+)([smhd])$/.exec(ttl.trim());
  if (!m) throw new UsageError(`--ttl must look like 90s, 30m, 1h or 1d, not ${ttl}`);
  const seconds = Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as 's' | 'm' | 'h' | 'd'];
  if (seconds < 1 || seconds > MAX_DEVELOPMENT_TTL_SECONDS) {
    throw new UsageError(`--ttl must be between 1s and ${MAX_DEVELOPMENT_TTL_SECONDS / 3600}h`);
  }
  return seconds;
}

/** Why the CLI refuses to act: exit code 5. */
export class NotAllowed extends Error {
  override readonly name = 'NotAllowed';
}

/**
 * The caller of a CLI action, from `--token` or `COHORT_TOKEN`, verified as the services verify
 * it and checked against the same policy (on `resource` where the action is trial-scoped); their
 * `sub` and role become the actor.
 */
export async function cliCaller(
  token: string | undefined,
  action: Action,
  resource: Resource = {},
): Promise<Caller> {
  const t = token ?? process.env.COHORT_TOKEN;
  if (!t) {
    throw new NotAllowed(
      'this needs a token: --token <jwt> or COHORT_TOKEN' +
        (developmentMode() ? ' (e.g. "$(npx cohort token --sub you --role ops)")' : ''),
    );
  }
  const keys = await tokenKeys(loadConfig(AuthEnv), dataDir());
  let caller: Caller;
  try {
    caller = await verifyToken(keys, t);
  } catch (e) {
    if (e instanceof Unauthenticated) throw new NotAllowed(`the token is not valid: ${e.message}`);
    throw e;
  }
  try {
    authorize(caller, action, resource);
  } catch (e) {
    if (e instanceof Forbidden) throw new NotAllowed(e.message);
    throw e;
  }
  return caller;
}
