import { expect } from 'vitest';

/** Anything with an answer's headers: a fetch Response, or a raw node:http answer. */
type Answer = { headers: Headers } | { headers: Record<string, string | string[] | undefined> };

function header(res: Answer, name: string): string | undefined {
  if (res.headers instanceof Headers) return res.headers.get(name) ?? undefined;
  const v = res.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

/** The headers every answer of a Cohort service carries, whatever its status. */
export function expectSecureHeaders(res: Answer, what: string): void {
  expect(header(res, 'x-content-type-options'), what).toBe('nosniff');
  expect(header(res, 'x-frame-options'), what).toBe('DENY');
  expect(header(res, 'content-security-policy'), what).toMatch(/frame-ancestors 'none'/);
  expect(header(res, 'referrer-policy'), what).toBe('no-referrer');
}

/** A 401 as RFC 6750 has it: the challenge names the Bearer scheme. */
export function expectBearerChallenge(res: Answer, what: string): void {
  expect(header(res, 'www-authenticate'), what).toMatch(/^Bearer\b/);
}
