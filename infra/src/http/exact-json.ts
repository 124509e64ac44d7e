import type { FieldIssue } from '@cohort/contracts';
import { decimalValue } from './decimal-value.js';
import {
  TAB,
  NEWLINE,
  RETURN,
  SPACE,
  QUOTE,
  PLUS,
  COMMA,
  MINUS,
  DOT,
  SLASH,
  ZERO,
  COLON,
  UPPER_E,
  OPEN_BRACKET,
  BACKSLASH,
  CLOSE_BRACKET,
  LOWER_E,
  OPEN_BRACE,
  CLOSE_BRACE,
  isDigit,
} from './json-code-units.js';

/**
 * Most issues reported for one body: enough to name every field of a real form, few enough
 * that a hostile body cannot turn the 400 into a large answer.
 */
export const MAX_EXACT_JSON_ISSUES = 100;

/** Longest number token quoted in an issue message; the rest is elided. */
const MAX_QUOTED_TOKEN = 40;

/** Integers this short are always exact doubles (below 2^53), so they skip the comparison. */
const MAX_FAST_INTEGER_DIGITS = 15;

const NUL_MESSAGE = 'holds U+0000 (NUL), which cannot be stored';
const LONE_SURROGATE_MESSAGE = 'holds a lone surrogate (e.g. \\ud800): not well-formed Unicode';

/**
 * The problems in a JSON body that JSON.parse would hide, each with the dotted path of its
 * value as zod names it (`answers.0.value`; '' for the root; for an object key, the object's
 * path):
 *
 * - a string value or key holding U+0000 or a lone surrogate (escaped or raw): no store
 *   keeps it (PostgreSQL text and jsonb refuse NUL; UTF-8 has no lone surrogates);
 * - a number whose decimal value changes when read as a JavaScript double, i.e. differs from
 *   `String(Number(token))` (`9007199254740993`, `1e-400`, `1e400`); `1.50` and `1.5e0` are
 *   exact.
 *
 * Malformed JSON has no issues here (JSON.parse reports it). One pass over the text, no
 * regular expressions, no recursion; at most MAX_EXACT_JSON_ISSUES issues, in text order.
 */
export function exactJsonIssues(text: string): FieldIssue[] {
  return new Scanner(text).run() ?? [];
}

class Malformed extends Error {}

class Scanner {
  readonly #text: string;
  #i = 0;
  readonly #issues: FieldIssue[] = [];
  // The open containers, innermost last: whether each is an array, its current index, and
  // where its current key's JSON string starts and ends (decoded only when a path is needed).
  readonly #isArray: boolean[] = [];
  readonly #index: number[] = [];
  readonly #keyStart: number[] = [];
  readonly #keyEnd: number[] = [];

  constructor(text: string) {
    this.#text = text;
  }

  run(): FieldIssue[] | undefined {
    try {
      this.#document();
      return this.#issues;
    } catch (e) {
      if (e instanceof Malformed) return undefined;
      throw e;
    }
  }

  #document(): void {
    const t = this.#text;
    this.#value();
    for (;;) {
      this.#skipSpace();
      const depth = this.#isArray.length;
      if (depth === 0) {
        if (this.#i !== t.length) throw new Malformed();
        return;
      }
      const c = t.charCodeAt(this.#i++);
      const top = depth - 1;
      if (c === COMMA) {
        if (this.#isArray[top]) this.#index[top]!++;
        else this.#key(top);
        this.#value();
      } else if (c === (this.#isArray[top] ? CLOSE_BRACKET : CLOSE_BRACE)) {
        this.#pop();
      } else {
        throw new Malformed();
      }
    }
  }

  /** Reads one value; a container is only opened (and its first member read, if any). */
  #value(): void {
    const t = this.#text;
    for (;;) {
      this.#skipSpace();
      const c = t.charCodeAt(this.#i);
      if (c === OPEN_BRACKET || c === OPEN_BRACE) {
        this.#i++;
        const isArray = c === OPEN_BRACKET;
        this.#isArray.push(isArray);
        this.#index.push(0);
        this.#keyStart.push(-1);
        this.#keyEnd.push(-1);
        this.#skipSpace();
        if (t.charCodeAt(this.#i) === (isArray ? CLOSE_BRACKET : CLOSE_BRACE)) {
          this.#i++;
          this.#pop();
          return;
        }
        if (!isArray) this.#key(this.#isArray.length - 1);
        continue; // the first member's value
      }
      if (c === QUOTE) return this.#string(false);
      if (c === MINUS || isDigit(c)) return this.#number();
      if (this.#literal('true') || this.#literal('false') || this.#literal('null')) return;
      throw new Malformed();
    }
  }

  #pop(): void {
    this.#isArray.pop();
    this.#index.pop();
    this.#keyStart.pop();
    this.#keyEnd.pop();
  }

  /** Reads `"key" :` of the object at `top`. */
  #key(top: number): void {
    this.#skipSpace();
    if (this.#text.charCodeAt(this.#i) !== QUOTE) throw new Malformed();
    const start = this.#i;
    this.#string(true);
    this.#keyStart[top] = start;
    this.#keyEnd[top] = this.#i;
    this.#skipSpace();
    if (this.#text.charCodeAt(this.#i++) !== COLON) throw new Malformed();
  }

  #literal(word: string): boolean {
    if (!this.#text.startsWith(word, this.#i)) return false;
    this.#i += word.length;
    return true;
  }

  #skipSpace(): void {
    const t = this.#text;
    for (;;) {
      const c = t.charCodeAt(this.#i);
      if (c !== SPACE && c !== NEWLINE && c !== RETURN && c !== TAB) return;
      this.#i++;
    }
  }

  /** Reads a string from its opening quote, noting NUL and lone surrogates. */
  #string(isKey: boolean): void {
    const t = this.#text;
    let i = this.#i + 1;
    let nul = false;
    let lone = false;
    let highPending = false; // the previous code unit was a high surrogate
    for (;;) {
      if (i >= t.length) throw new Malformed();
      let c = t.charCodeAt(i++);
      if (c === QUOTE) break;
      if (c < SPACE) throw new Malformed();
      if (c === BACKSLASH) {
        const e = t.charCodeAt(i++);
        if (e === 0x75 /* u */) {
          c = 0;
          for (const end = i + 4; i < end; i++) c = c * 16 + hexValue(t.charCodeAt(i));
        } else if (!isSimpleEscape(e)) {
          throw new Malformed();
        }
        // A simple escape is not a surrogate or NUL; fall through with a harmless unit.
        else c = e;
      }
      if (c === 0) nul = true;
      if (c >= 0xd800 && c <= 0xdbff) {
        if (highPending) lone = true;
        highPending = true;
      } else {
        if (c >= 0xdc00 && c <= 0xdfff) {
          if (!highPending) lone = true;
        } else if (highPending) {
          lone = true;
        }
        highPending = false;
      }
    }
    if (highPending) lone = true;
    this.#i = i;
    if ((nul || lone) && !this.#full()) {
      // A key's issue belongs to its object; the key itself is not yet part of the path.
      const path = isKey ? this.#path(this.#isArray.length - 1) : this.#path(this.#isArray.length);
      const what = isKey ? 'key' : 'string';
      if (nul) this.#issue(path, `${what} ${NUL_MESSAGE}`);
      if (lone) this.#issue(path, `${what} ${LONE_SURROGATE_MESSAGE}`);
    }
  }

  #number(): void {
    const t = this.#text;
    const start = this.#i;
    let i = start;
    if (t.charCodeAt(i) === MINUS) i++;
    if (t.charCodeAt(i) === ZERO) i++;
    else if (isDigit(t.charCodeAt(i))) while (isDigit(t.charCodeAt(i))) i++;
    else throw new Malformed();
    let plainInteger = true;
    if (t.charCodeAt(i) === DOT) {
      plainInteger = false;
      i++;
      if (!isDigit(t.charCodeAt(i))) throw new Malformed();
      while (isDigit(t.charCodeAt(i))) i++;
    }
    const e = t.charCodeAt(i);
    if (e === LOWER_E || e === UPPER_E) {
      plainInteger = false;
      i++;
      const sign = t.charCodeAt(i);
      if (sign === PLUS || sign === MINUS) i++;
      if (!isDigit(t.charCodeAt(i))) throw new Malformed();
      while (isDigit(t.charCodeAt(i))) i++;
    }
    this.#i = i;
    const digits = i - start - (t.charCodeAt(start) === MINUS ? 1 : 0);
    if ((plainInteger && digits <= MAX_FAST_INTEGER_DIGITS) || this.#full()) return;
    const token = t.slice(start, i);
    const read = String(Number(token));
    if (decimalValue(token) === decimalValue(read)) return;
    const quoted = token.length > MAX_QUOTED_TOKEN ? `${token.slice(0, MAX_QUOTED_TOKEN)}…` : token;
    this.#issue(
      this.#path(this.#isArray.length),
      `number ${quoted} cannot be stored exactly (it would be read as ${read})`,
    );
  }

  /** No more issues are kept: the rest of the text is only checked for being JSON. */
  #full(): boolean {
    return this.#issues.length >= MAX_EXACT_JSON_ISSUES;
  }

  #issue(path: string, message: string): void {
    if (!this.#full()) this.#issues.push({ path, message });
  }

  /** The dotted path of the current member of the outermost `depth` containers. */
  #path(depth: number): string {
    const parts: string[] = [];
    for (let d = 0; d < depth; d++) {
      parts.push(
        this.#isArray[d]
          ? String(this.#index[d])
          : (JSON.parse(this.#text.slice(this.#keyStart[d], this.#keyEnd[d])) as string),
      );
    }
    return parts.join('.');
  }
}

function isSimpleEscape(c: number): boolean {
  // " \ / b f n r t
  return (
    c === QUOTE ||
    c === BACKSLASH ||
    c === SLASH ||
    c === 0x62 ||
    c === 0x66 ||
    c === 0x6e ||
    c === 0x72 ||
    c === 0x74
  );
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  throw new Malformed();
}
