/**
 * What a database error says about retrying: read from PostgreSQL's SQLSTATE (PGlite's errors
 * carry it too), from Node's socket error codes, and from node-postgres's own messages for a
 * connection it lost. Errors wrapped with `cause` are read through.
 */

/** SQLSTATE classes whose errors come from the data itself: the same statement fails again. */
const DATA_CLASSES = new Set([
  '22', // data exception: a value out of range, malformed, too long
  '23', // integrity constraint violation: unique, foreign key, not null, check
]);

/** SQLSTATEs of a server that is going away or not yet there (class 08 aside). */
const SERVER_GONE = new Set([
  '57P01', // admin_shutdown: the server is stopping
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up or shutting down
]);

/** Node's socket errors on the way to the database. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/** node-postgres's errors for a connection lost or never made; they carry no code. */
const LOST_CONNECTION =
  /Connection terminated|not queryable|timeout exceeded when trying to connect/i;

/** Five characters; no SQLSTATE class starts with E, which tells Node's EPIPE or EPERM apart. */
const SQLSTATE = /^[0-9A-DF-Z][0-9A-Z]{4}$/;

/** The error and the errors it wraps (`cause`, and the attempts of an AggregateError). */
function* chain(e: unknown, depth = 0): Generator<{ code?: unknown; message?: unknown }> {
  if (depth > 5 || typeof e !== 'object' || e === null) return;
  yield e;
  const { cause, errors } = e as { cause?: unknown; errors?: unknown };
  if (cause !== undefined) yield* chain(cause, depth + 1);
  if (Array.isArray(errors)) for (const x of errors) yield* chain(x, depth + 1);
}

/** The SQLSTATE of a database error, if it is one. */
export function sqlState(e: unknown): string | undefined {
  for (const x of chain(e)) {
    if (typeof x.code === 'string' && SQLSTATE.test(x.code)) return x.code;
  }
  return undefined;
}

/**
 * True when the database could not be reached or dropped the connection: the statement may
 * succeed once the server is back, and whether a COMMIT in flight took effect is unknown.
 */
export function isDatabaseUnavailable(e: unknown): boolean {
  for (const x of chain(e)) {
    const code = typeof x.code === 'string' ? x.code : '';
    if (code.startsWith('08') || SERVER_GONE.has(code) || SOCKET_CODES.has(code)) return true;
    if (typeof x.message === 'string' && LOST_CONNECTION.test(x.message)) return true;
  }
  return false;
}

/** True when the error is about the data (SQLSTATE class 22 or 23): no retry can fix it. */
export function isDataError(e: unknown): boolean {
  const state = sqlState(e);
  return state !== undefined && DATA_CLASSES.has(state.slice(0, 2));
}
