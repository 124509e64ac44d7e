import { verifyToken, type TokenKeys } from '@cohort/infra/testing';

const VERIFICATIONS = 2_000;

/**
 * CPU microseconds one verification of `token` costs in this process (the edge's own check:
 * signature, issuer, audience, times, claims), the median of `rounds`. The ceiling pays it on
 * every request; a bare app does not.
 */
export async function tokenVerificationMicros(
  keys: TokenKeys,
  token: string,
  rounds: number,
): Promise<number> {
  const perRound: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const before = process.cpuUsage();
    for (let i = 0; i < VERIFICATIONS; i++) await verifyToken(keys, token);
    const used = process.cpuUsage(before);
    perRound.push((used.user + used.system) / VERIFICATIONS);
  }
  return perRound.sort((a, b) => a - b)[Math.floor(rounds / 2)]!;
}
