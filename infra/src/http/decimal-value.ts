import { PLUS, MINUS, DOT, ZERO, isDigit } from './json-code-units.js';

/**
 * Exponents beyond this are only ever compared, never computed with: it keeps exponent
 * arithmetic exact (well below 2^53) for tokens like `1e999999999999999999999`.
 */
const MAX_EXPONENT = 1e15;

/**
 * A JSON number's (or `String(number)`'s) exact decimal value in one canonical form:
 * `<sign><significant digits without leading or trailing zeros>e<exponent>`, '0' for zero
 * of either sign, and the input itself for `Infinity`/`NaN`.
 */
export function decimalValue(s: string): string {
  let i = 0;
  const negative = s.charCodeAt(0) === MINUS;
  if (negative) i++;
  if (!isDigit(s.charCodeAt(i))) return s; // Infinity, -Infinity, NaN
  let digits = '';
  let fractionDigits = 0;
  let seenDot = false;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === DOT) {
      seenDot = true;
      continue;
    }
    if (!isDigit(c)) break;
    if (digits.length > 0 || c !== ZERO) digits += s[i];
    else if (!seenDot) continue; // a leading zero of the integer part
    if (seenDot) fractionDigits++;
  }
  let exponent = 0;
  if (i < s.length) {
    // [eE][+-]?digits
    i++;
    const sign = s.charCodeAt(i);
    const negativeExponent = sign === MINUS;
    if (sign === PLUS || sign === MINUS) i++;
    for (; i < s.length && exponent < MAX_EXPONENT; i++)
      exponent = exponent * 10 + (s.charCodeAt(i) - ZERO);
    if (negativeExponent) exponent = -exponent;
  }
  let end = digits.length;
  while (end > 0 && digits.charCodeAt(end - 1) === ZERO) end--;
  if (end === 0) return '0';
  exponent += digits.length - end - fractionDigits;
  return `${negative ? '-' : ''}${digits.slice(0, end)}e${exponent}`;
}
