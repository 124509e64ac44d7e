/** An answer other than 2xx, with the server's own message. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} message
   */
  constructor(status, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

/**
 * Calls the monitoring API with the signed-in token. Resolves with the JSON answer; rejects
 * with an ApiError carrying the status and the server's message (403 says what the token does
 * not allow), or with a TypeError when the server cannot be reached.
 * @param {string} token
 * @param {string} path
 * @param {{ method?: string, body?: unknown }} [init]
 * @returns {Promise<unknown>} the answer, which the caller states the shape of
 */
export async function call(token, path, init = {}) {
  /** @type {Record<string, string>} */
  const headers = { authorization: `Bearer ${token}`, accept: 'application/json' };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, {
    method: init.method ?? 'GET',
    headers,
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await res.text();
  /** @type {unknown} */
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!res.ok) {
    const answer = /** @type {{ message?: string, issues?: { path: string }[] } | null} */ (body);
    const fields = answer?.issues ? ` (${answer.issues.map((i) => i.path).join(', ')})` : '';
    throw new ApiError(res.status, `${answer?.message ?? `HTTP ${res.status}`}${fields}`);
  }
  return body;
}

/**
 * What a JWT says about its bearer, read without verifying it (the server verifies every
 * request): only to show who is signed in. Null when it is not a JWT.
 * @param {string} token
 * @returns {{ sub: string, role: string } | null}
 */
export function claimsOf(token) {
  const part = token.split('.')[1];
  if (!part) return null;
  try {
    const json = atob(part.replaceAll('-', '+').replaceAll('_', '/'));
    /** @type {unknown} */
    const parsed = JSON.parse(json);
    const claims = /** @type {{ sub?: unknown, role?: unknown } | null} */ (parsed);
    if (typeof claims?.sub !== 'string' || typeof claims?.role !== 'string') return null;
    return { sub: claims.sub, role: claims.role };
  } catch {
    return null;
  }
}
