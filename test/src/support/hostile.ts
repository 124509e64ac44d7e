import fc from 'fast-check';

/**
 * What a hostile client sends to an HTTP edge: bodies, path segments, query strings and headers
 * that a careful server must refuse with a 4xx (or accept harmlessly), never with a 5xx.
 */

/** encodeURIComponent of any string: lone surrogates (which it refuses) become U+FFFD first. */
export function percentEncode(s: string): string {
  return encodeURIComponent(
    s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd'),
  );
}

/** A fragment placed in a JSON text as it is: what JSON.stringify cannot produce. */
export class RawJson {
  constructor(readonly text: string) {}
}

/** JSON.stringify, except that RawJson fragments are written as they are. */
export function jsonText(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (Array.isArray(value)) return `[${value.map(jsonText).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    // Own keys only: a `__proto__` key made with a computed name is an own key, and is sent.
    const members = Object.keys(value).map(
      (k) => `${JSON.stringify(k)}:${jsonText((value as Record<string, unknown>)[k])}`,
    );
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Keys aimed at prototypes, at the caller's identity, and at parsers' corners. */
export const HOSTILE_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'actor',
  'role',
  '',
  'a.b',
  '$where',
  'toString',
  'hasOwnProperty',
  '\u0000',
  '\u202e',
  'ключ',
];

/** Strings that are valid JSON but odd: control and format characters, emoji, long. */
const ODD_STRINGS = [
  '',
  ' ',
  '\u0000',
  '\u0001\u001f',
  '\u00a0',
  '\ufeff',
  '\u200b\u200d',
  '\u202e\u202d',
  '\ufffd',
  '\uffff',
  'e\u0301\u0301\u0301',
  '😀👩‍👩‍👧‍👦',
  '𝒳',
  '../../etc/passwd',
  'P.*',
  'P.>',
  '<script>alert(1)</script>',
  "'; DROP TABLE case_reports; --",
  '%00',
  '{{7*7}}',
  'true',
  'null',
];

/** Escaped strings JSON.parse accepts but no store can keep: NUL, lone surrogates. */
const RAW_STRINGS = ['"\\u0000"', '"\\ud800"', '"\\udc00x"', '"x\\ud83d"', '"\\ud83d\\ud83d"'];

/** Number tokens that change when read as a double, or that are exact but unusual. */
const RAW_NUMBERS = [
  '1e400',
  '-1e400',
  '1e-400',
  '9007199254740993',
  '-0',
  '0.1e1',
  '1E+2',
  '123456789012345678901234567890',
  '1e999999999999999999999',
  '0.000000000000000000000000000001',
];

/** A value of any JSON type that is rarely the one wanted. */
export const wrongType: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(0, -1, 1.5, true, false, null, '', 'x', [], {}, [null], { a: 1 }),
  fc.constantFrom(...ODD_STRINGS),
  fc.constantFrom(...RAW_STRINGS, ...RAW_NUMBERS).map((t) => new RawJson(t)),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.double(),
  fc.integer(),
);

/** Nesting `depth` levels deep, as arrays or as objects. */
export function nested(depth: number, objects: boolean): RawJson {
  return new RawJson(
    objects
      ? `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`
      : `${'['.repeat(depth)}${']'.repeat(depth)}`,
  );
}

/** Payloads that pollute a prototype when merged carelessly. */
export const pollution: fc.Arbitrary<RawJson> = fc.constantFrom(
  new RawJson('{"__proto__":{"polluted":true,"role":"ops"}}'),
  new RawJson('{"constructor":{"prototype":{"polluted":true}}}'),
  new RawJson('{"__proto__":null}'),
  new RawJson('{"a":1,"a":2}'),
);

/** Values that take up to `limitBytes` of text: long strings and deep nesting, within the limit. */
export function large(limitBytes: number): fc.Arbitrary<unknown> {
  const size = fc.integer({ min: 1_000, max: Math.max(1_000, limitBytes - 2_048) });
  return fc.oneof(
    size.map((n) => 'a'.repeat(n)),
    size.map((n) => '😀'.repeat(Math.floor(n / 4))),
    size.map((n) => nested(Math.floor(n / 2), false)),
    size.map((n) => nested(Math.floor(n / 6), true)),
    size.map((n) => Array.from({ length: Math.floor(n / 2) }, () => 0)),
  );
}

/** Any hostile value for a field. */
export function hostileValue(limitBytes: number): fc.Arbitrary<unknown> {
  return fc.oneof(
    { arbitrary: wrongType, weight: 4 },
    { arbitrary: pollution, weight: 1 },
    { arbitrary: large(limitBytes), weight: 1 },
    { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 1 },
  );
}

/** Texts that are not one JSON document, or are one of an unexpected kind. */
export const malformedJson: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '{',
    '}',
    '{"a":1,}',
    "{'a':1}",
    '{}{}',
    '\ufeff{}',
    'null',
    'NaN',
    'Infinity',
    '[1,2',
    '{"a":1}//c',
    '/*c*/{}',
    'true',
    '"str"',
    '0',
    '{"a":"\\x41"}',
    '{"a":"\\u12"}',
    '{"a":"\u0001"}',
    '{"a" 1}',
    '{a:1}',
    '[',
    '\u0000',
  ),
  fc.string({ unit: 'binary', maxLength: 200 }),
);

/** Path segments that probe routing, decoding and subject building. */
export const hostileSegment: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '.',
    '..',
    '...',
    '%2e',
    '%2e%2e',
    '%2E%2E',
    '.%2e',
    '*',
    '>',
    'a.b',
    'a*',
    'a>',
    'P.*',
    '%2F',
    '%2f..%2f',
    '..%2F..%2Fetc%2Fpasswd',
    '%252e%252e',
    '%00',
    'a%00b',
    '%ff',
    '%C0%AE',
    '%c0%ae%c0%ae',
    '%',
    '%zz',
    '%e2%80%ae',
    '%20',
    '%0d%0aSet-Cookie:x',
    '~',
    ';x=1',
    'a;b',
    '?',
    '@',
    '$',
    '!',
    "'",
    '(',
    ',',
    '+',
    '=',
    '_',
    '-',
    '\\',
    '%5c',
  ),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }).map(percentEncode),
  fc.integer({ min: 65, max: 6_000 }).map((n) => 'A'.repeat(n)),
);

/** A query string of hostile parts around `keys` (the parameters a route takes). */
export function hostileQuery(keys: readonly string[]): fc.Arbitrary<string> {
  const key = fc.oneof(
    fc.constantFrom(...keys, ...HOSTILE_KEYS.filter((k) => /^[\w$.]*$/.test(k))),
    fc.constantFrom('%00', '%', '%zz', '__proto__[x]', 'a[]', 'a[b]', ''),
  );
  const value = fc.oneof(
    fc.constantFrom(
      '',
      '0',
      '-1',
      '1e3',
      '0x10',
      '9007199254740993',
      'NaN',
      'Infinity',
      '%',
      '%zz',
      '%00',
      '%ff',
      '+',
      'a+b',
      'null',
      '[]',
      '{}',
      '2026-02-30T00:00:00Z',
      '0000-01-01T00:00:00Z',
      '9999-12-31T23:59:59.999999999Z',
      '2026-01-01T00:00:00+01:00',
    ),
    fc.string({ unit: 'binary', maxLength: 40 }).map(percentEncode),
    fc.integer({ min: 201, max: 6_000 }).map((n) => 'x'.repeat(n)),
  );
  const part = fc.oneof(
    fc.tuple(key, value).map(([k, v]) => `${k}=${v}`),
    key,
    fc.constantFrom('&', '=', '==', ';'),
  );
  return fc.array(part, { minLength: 1, maxLength: 6 }).map((parts) => parts.join('&'));
}

/** Content types a JSON route must refuse, or accept for what they are. */
export const contentTypes: fc.Arbitrary<string | string[] | undefined> = fc.constantFrom(
  undefined,
  '',
  'application/json',
  'APPLICATION/JSON',
  'application/json; charset=utf-8',
  'application/json;charset="UTF-8"',
  'application/json; charset=utf-16',
  'application/json; charset=latin1; boundary=x',
  'application/problem+json',
  'application/vnd.api+json',
  'application/jsonx',
  'application/json5',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'text/plain',
  'text/json',
  '*/*',
  'application/*',
  'json',
  ';',
  ['application/json', 'application/json'],
  ['application/json', 'text/plain'],
  ['text/plain', 'application/json'],
);

/** Header values as a client may send them: printable Latin-1, up to `max` characters. */
export function headerValue(max: number): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({
      unit: fc
        .integer({ min: 0x20, max: 0xff })
        .filter((c) => c !== 0x7f)
        .map((c) => String.fromCharCode(c)),
      maxLength: 200,
    }),
    fc.integer({ min: 129, max: max }).map((n) => 'c'.repeat(n)),
    fc.constantFrom('', ' ', '\t', 'ÿ'.repeat(200), '%00', '\u00a0'),
  );
}
