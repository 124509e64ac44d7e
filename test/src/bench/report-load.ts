// The reports `bench:ingest` sends: phones, each with its own patient and token, and reports
// that each bring a token the edge has not seen.
import { TOKEN_CACHE_MAX_ENTRIES } from '@cohort/infra/testing';
import { identity } from '../support/identity.js';
import { reportBody } from '../support/reports.js';
import { httpLoad, type LoadResult } from './http-load.js';

/** Concurrent HTTP connections, as a burst of phones would hold them. */
export const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 100);

/** Each connection's phone: patient `P<w>` of trial BENCH, with a token of its own. */
const phones = await Promise.all(
  Array.from({ length: CONNECTIONS }, (_, w) =>
    identity.header({ sub: `P${w}`, role: 'patient', trials: ['BENCH'] }),
  ),
);

type Request = Parameters<typeof httpLoad>[0]['request'];

/** POST /v1/reports from CONNECTIONS connections, each request as `request` makes it. */
function reportLoad(
  url: string,
  seconds: number,
  serverPid: number | undefined,
  request: Request,
): Promise<LoadResult> {
  return httpLoad({
    url,
    path: '/v1/reports',
    connections: CONNECTIONS,
    seconds,
    serverPid,
    request,
  });
}

/** Reports of each connection's patient, with its phone's token. */
export function reports(url: string, seconds: number, serverPid?: number): Promise<LoadResult> {
  return reportLoad(url, seconds, serverPid, (i, w) => ({
    body: JSON.stringify(reportBody('BENCH', `P${w}`, i)),
    headers: phones[w]!,
  }));
}

/**
 * Tokens for requests that each bring one the edge has not seen: more than its cache holds,
 * used in turn, so that each is dropped (the oldest first) before it comes round again.
 */
export const NEW_TOKENS = Math.ceil(TOKEN_CACHE_MAX_ENTRIES * 1.2);
let newTokens: Record<string, string>[] = [];

/** Reports each bearing a token the edge has not verified yet. */
export function unseenTokenReports(
  url: string,
  seconds: number,
  serverPid?: number,
): Promise<LoadResult> {
  return reportLoad(url, seconds, serverPid, (i) => ({
    body: JSON.stringify(reportBody('BENCH', `N${i % NEW_TOKENS}`, i)),
    headers: newTokens[i % NEW_TOKENS]!,
  }));
}

/** Signs the tokens `unseenTokenReports` sends (a second or two of CPU). */
export async function signNewTokens(): Promise<void> {
  newTokens = await Promise.all(
    Array.from({ length: NEW_TOKENS }, (_, k) =>
      identity.header({ sub: `N${k}`, role: 'patient', trials: ['BENCH'] }),
    ),
  );
}

/** Phone `w`'s bearer token. */
export function phoneToken(w: number): string {
  return phones[w]!.authorization!.slice('Bearer '.length);
}
