import { verifyToken, VerifiedTokens, type TokenKeys } from '@cohort/infra/testing';

const VERIFICATIONS = 2_000;
/** Cache hits per round, each with a token text of its own (V8 keeps a string's hash). */
const HITS = 20_000;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** CPU microseconds per call of `run(i)`, `count` calls per round, the median of `rounds`. */
async function cpuMicros(
  count: number,
  rounds: number,
  run: (i: number) => Promise<unknown>,
): Promise<number> {
  const perRound: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const before = process.cpuUsage();
    for (let i = 0; i < count; i++) await run(i);
    const used = process.cpuUsage(before);
    perRound.push((used.user + used.system) / count);
  }
  return median(perRound);
}

/**
 * CPU microseconds one verification of `token` costs in this process (the edge's own check:
 * signature, issuer, audience, times, claims), the median of `rounds`. A request whose token
 * the edge has not seen pays it; a bare app does not.
 */
export function tokenVerificationMicros(
  keys: TokenKeys,
  token: string,
  rounds: number,
): Promise<number> {
  return cpuMicros(VERIFICATIONS, rounds, () => verifyToken(keys, token));
}

/**
 * CPU microseconds the edge's cache of verified tokens costs for a token it has seen (a
 * phone's next report): the lookup by the token's text and the check of its times. Each call
 * gets its own copy of the text, as each request brings its own header.
 */
export async function cachedTokenMicros(
  keys: TokenKeys,
  token: string,
  rounds: number,
): Promise<number> {
  const cache = new VerifiedTokens(keys);
  await cache.verify(token);
  let copies: string[] = [];
  const perRound: number[] = [];
  for (let r = 0; r < rounds; r++) {
    copies = Array.from({ length: HITS }, () => Buffer.from(token).toString('latin1'));
    perRound.push(await cpuMicros(HITS, 1, (i) => cache.verify(copies[i]!)));
  }
  return median(perRound);
}
