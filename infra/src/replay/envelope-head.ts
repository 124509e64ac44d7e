/** An event's type and version, read from its stored bytes. */
export interface EnvelopeHead {
  type: string;
  version: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

const TYPE = [...'"type"'].map((c) => c.charCodeAt(0));
const VERSION = [...'"version"'].map((c) => c.charCodeAt(0));

const decoder = new TextDecoder();

function isSpace(b: number | undefined): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

function skipSpace(b: Uint8Array, i: number): number {
  while (isSpace(b[i])) i++;
  return i;
}

/** The index after the string that opens at `i` (a quote), or -1 when it does not end. */
function afterString(b: Uint8Array, i: number): number {
  for (i++; i < b.length; i++) {
    if (b[i] === BACKSLASH) i++;
    else if (b[i] === QUOTE) return i + 1;
  }
  return -1;
}

/** The index after the value that starts at `i`, or -1 when it does not end. */
function afterValue(b: Uint8Array, i: number): number {
  if (b[i] === QUOTE) return afterString(b, i);
  if (b[i] !== OPEN_OBJECT && b[i] !== OPEN_ARRAY) {
    // A number or a literal: up to what ends it.
    const start = i;
    while (i < b.length && b[i] !== COMMA && b[i] !== CLOSE_OBJECT && !isSpace(b[i])) {
      if (b[i] === CLOSE_ARRAY || b[i] === OPEN_ARRAY || b[i] === QUOTE) return -1;
      i++;
    }
    return i > start ? i : -1;
  }
  let depth = 0;
  for (; i < b.length; i++) {
    const c = b[i];
    if (c === QUOTE) {
      i = afterString(b, i) - 1;
      if (i < 0) return -1;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) depth++;
    else if ((c === CLOSE_OBJECT || c === CLOSE_ARRAY) && --depth === 0) return i + 1;
  }
  return -1;
}

function bytesAre(b: Uint8Array, from: number, to: number, expected: number[]): boolean {
  if (to - from !== expected.length) return false;
  for (let k = 0; k < expected.length; k++) if (b[from + k] !== expected[k]) return false;
  return true;
}

/**
 * The top-level `type` (a string) and `version` (an integer) of the JSON object in `bytes`,
 * read up to the later of the two and no further: an envelope names both first, so this costs a
 * small part of parsing the event. Null when the bytes do not read as such an object up to there
 * (not JSON, either member missing or of another kind, escapes in the type or a key): the caller
 * then parses the whole event, which says what is wrong with it.
 */
export function envelopeHead(bytes: Uint8Array): EnvelopeHead | null {
  let i = skipSpace(bytes, 0);
  if (bytes[i] !== OPEN_OBJECT) return null;
  let type: string | undefined;
  let version: number | undefined;
  for (i = skipSpace(bytes, i + 1); bytes[i] === QUOTE; i = skipSpace(bytes, i + 1)) {
    const keyEnd = afterString(bytes, i);
    if (keyEnd < 0) return null;
    const valueStart = skipSpace(bytes, keyEnd);
    if (bytes[valueStart] !== COLON) return null;
    const from = skipSpace(bytes, valueStart + 1);
    const to = afterValue(bytes, from);
    if (to < 0) return null;
    if (bytesAre(bytes, i, keyEnd, TYPE)) {
      if (bytes[from] !== QUOTE) return null;
      const raw = bytes.subarray(from, to);
      if (raw.includes(BACKSLASH)) return null;
      type = decoder.decode(raw.subarray(1, -1));
    } else if (bytesAre(bytes, i, keyEnd, VERSION)) {
      version = Number(decoder.decode(bytes.subarray(from, to)));
      if (!Number.isInteger(version)) return null;
    }
    if (type !== undefined && version !== undefined) return { type, version };
    i = skipSpace(bytes, to);
    if (bytes[i] !== COMMA) return null;
  }
  return null;
}
