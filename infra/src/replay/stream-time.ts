/**
 * A stream's timestamps at the precision the server keeps: nanoseconds since the epoch, as a
 * bigint (a number loses the last digits), and as RFC 3339 text with nine fraction digits.
 * Bounds given as time compare at this precision, so a `time` copied from a replayed line is an
 * exact bound.
 */

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i;

/** Nanoseconds since the epoch of an RFC 3339 time (`Z` or an offset), or null when it is not one. */
export function parseStreamTime(text: string): bigint | null {
  const m = RFC3339.exec(text.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac = '', zone] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  const back = new Date(ms);
  // Date.UTC rolls 31 February over into March: a date that does not exist is refused.
  if (
    Number.isNaN(ms) ||
    back.getUTCDate() !== Number(d) ||
    back.getUTCMonth() !== Number(mo) - 1 ||
    Number(h) > 23 ||
    Number(mi) > 59 ||
    Number(s) > 59
  ) {
    return null;
  }
  let offsetMinutes = 0;
  if (zone!.toUpperCase() !== 'Z') {
    const sign = zone!.startsWith('-') ? -1 : 1;
    offsetMinutes = sign * (Number(zone!.slice(1, 3)) * 60 + Number(zone!.slice(4, 6)));
  }
  const seconds = BigInt(ms / 1000 - offsetMinutes * 60);
  return seconds * 1_000_000_000n + BigInt(frac.padEnd(9, '0'));
}

let lastSecond = Number.NaN;
let lastSecondText = '';

/**
 * `2026-01-31T08:00:00.123456789Z`: nanoseconds since the epoch (a bigint, or its decimal digits
 * as the server writes them) as RFC 3339 in UTC.
 */
export function formatStreamTime(nanos: bigint | string): string {
  const digits = (typeof nanos === 'string' ? nanos : nanos.toString()).padStart(10, '0');
  const seconds = Number(digits.slice(0, -9));
  // A stream's messages come second after second: the date and time part is kept for the next.
  if (seconds !== lastSecond) {
    lastSecond = seconds;
    lastSecondText = new Date(seconds * 1000).toISOString().slice(0, 19);
  }
  return `${lastSecondText}.${digits.slice(-9)}Z`;
}

/**
 * The stream's timestamp of a delivered message, as the decimal nanoseconds its acknowledgement
 * subject carries (`$JS.ACK.<stream>.<consumer>.<delivered>.<seq>.<dseq>.<nanos>.<pending>`, or
 * with a domain and an account hash before the stream and a token after), or undefined when
 * `ack` is not such a subject.
 */
export function deliveredNanos(ack: string | undefined): string | undefined {
  if (!ack?.startsWith('$JS.ACK.')) return undefined;
  // Found from the end, without splitting the subject: after the timestamp come the pending
  // count and, in the 12-token form (11 dots), a random token.
  let dots = 0;
  for (let i = ack.indexOf('.'); i >= 0; i = ack.indexOf('.', i + 1)) dots++;
  if (dots !== 8 && dots !== 11) return undefined;
  let end = ack.lastIndexOf('.');
  if (dots === 11) end = ack.lastIndexOf('.', end - 1);
  const nanos = ack.slice(ack.lastIndexOf('.', end - 1) + 1, end);
  return DIGITS.test(nanos) ? nanos : undefined;
}

const DIGITS = /^\d+$/;
