import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exactJsonIssues, MAX_EXACT_JSON_ISSUES } from './exact-json.js';

const paths = (text: string) => exactJsonIssues(text).map((i) => i.path);

/** A JSON value whose strings are well-formed, NUL-free Unicode and whose numbers are doubles. */
const { value: safeValue } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
    safeString(),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(safeString(), tie('value'), { maxKeys: 5 }),
  ),
}));

function safeString() {
  return fc.string({ unit: 'binary', maxLength: 12 }).map((s) => s.replaceAll('\u0000', ''));
}

/** Every string of a value (keys too) with the path an issue about it must name. */
function strings(v: unknown, path: string[] = [], out: { path: string[]; key?: string }[] = []) {
  if (typeof v === 'string') out.push({ path });
  else if (Array.isArray(v)) v.forEach((x, i) => strings(x, [...path, String(i)], out));
  else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      out.push({ path, key: k });
      strings(x, [...path, k], out);
    }
  }
  return out;
}

/** `v` with `bad` inserted at `at` into the string (or key) named by `target`. */
function insert(v: unknown, target: { path: string[]; key?: string }, bad: string, at: number) {
  const spliced = (s: string) => {
    let p = at % (s.length + 1);
    // Never between the halves of a surrogate pair: that would add a second problem.
    if (p > 0 && p < s.length && /[\udc00-\udfff]/.test(s[p]!)) p--;
    return s.slice(0, p) + bad + s.slice(p);
  };
  const go = (x: unknown, depth: number): unknown => {
    if (depth === target.path.length) {
      if (target.key === undefined) return spliced(x as string);
      return Object.fromEntries(
        Object.entries(x as object).map(([k, y]) => [k === target.key ? spliced(k) : k, y]),
      );
    }
    const step = target.path[depth]!;
    if (Array.isArray(x)) return x.map((y, i) => (String(i) === step ? go(y, depth + 1) : y));
    return Object.fromEntries(
      Object.entries(x as object).map(([k, y]) => [k, k === step ? go(y, depth + 1) : y]),
    );
  };
  return go(v, 0);
}

/** The exact value of an integer as JavaScript writes one (`-1e+21` included). */
function integerValue(s: string): bigint {
  const [mantissa, exponent = '0'] = s.split('e');
  const [int, frac = ''] = mantissa!.split('.');
  return BigInt(int! + frac) * 10n ** BigInt(Number(exponent) - frac.length);
}

describe('exactJsonIssues', () => {
  it('finds nothing in the JSON of safe doubles and well-formed strings, however spaced', () => {
    fc.assert(
      fc.property(safeValue, fc.constantFrom(undefined, 2, '\t'), (v, space) => {
        expect(exactJsonIssues(JSON.stringify(v, null, space))).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });

  it('finds a NUL or a lone surrogate put anywhere, at the path zod would name', () => {
    const bad = fc.constantFrom('\u0000', '\ud800', '\udbff', '\udc00', '\udfff');
    fc.assert(
      fc.property(safeValue, fc.nat(), fc.nat(), bad, (v, which, at, b) => {
        const targets = strings(v);
        fc.pre(targets.length > 0);
        const target = targets[which % targets.length]!;
        const text = JSON.stringify(insert(v, target, b, at));
        // JSON.stringify escapes both; the same code unit raw (unescaped) is found too.
        const raw =
          b === '\u0000' ? text : text.replaceAll(`\\u${b.charCodeAt(0).toString(16)}`, b);
        for (const t of [text, raw]) {
          const issues = exactJsonIssues(t);
          expect(issues).toHaveLength(1);
          expect(issues[0]!.path).toBe(target.path.join('.'));
          expect(issues[0]!.message).toMatch(
            new RegExp(`^${target.key === undefined ? 'string' : 'key'} holds`),
          );
          expect(issues[0]!.message).toMatch(b === '\u0000' ? /U\+0000/ : /lone surrogate/);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('reports the examples that JSON.parse would silently change or no store would keep', () => {
    const body = JSON.stringify({
      questionnaire: { id: 'Q', version: '1\u0000' },
      answers: [
        { itemId: 'a', value: 'x\ud800' },
        { itemId: 'b', value: 'N1' },
        { itemId: 'c', value: 'N2' },
        { itemId: 'd', value: 'N3' },
      ],
    })
      .replace('"N1"', '123456789012345678901234567890')
      .replace('"N2"', '9007199254740993')
      .replace('"N3"', '1e-400');
    expect(exactJsonIssues(body)).toEqual([
      { path: 'questionnaire.version', message: expect.stringMatching(/U\+0000/) },
      { path: 'answers.0.value', message: expect.stringMatching(/lone surrogate/) },
      {
        path: 'answers.1.value',
        message:
          'number 123456789012345678901234567890 cannot be stored exactly (it would be read as 1.2345678901234568e+29)',
      },
      {
        path: 'answers.2.value',
        message:
          'number 9007199254740993 cannot be stored exactly (it would be read as 9007199254740992)',
      },
      {
        path: 'answers.3.value',
        message: 'number 1e-400 cannot be stored exactly (it would be read as 0)',
      },
    ]);
    expect(paths('1e400')).toEqual(['']);
    expect(paths('[-1e400]')).toEqual(['0']);
    expect(paths('{"a":{"b":[0,1.00000000000000000001]}}')).toEqual(['a.b.1']);
    expect(paths('{"k\\u0000":1,"ok":{"\\udc00x":2}}')).toEqual(['', 'ok']);
  });

  it('accepts numbers that read back as the same decimal, however written', () => {
    for (const n of [
      '0',
      '-0',
      '0.0',
      '-0e5',
      '0e-99999999999999999999',
      '1.50',
      '1.5e0',
      '15E-1',
      '0.15e+1',
      '0.1',
      '100',
      '1e2',
      '1e21',
      '123456789012345',
      '9007199254740992',
      '-9007199254740991',
      '5e-324',
      '2.2250738585072014e-308',
      '1.7976931348623157e308',
      '0.000001',
      '1e-7',
    ]) {
      expect(exactJsonIssues(n), n).toEqual([]);
      expect(exactJsonIssues(`{"n":[${n}]}`), n).toEqual([]);
    }
  });

  it('accepts every double written as JSON.stringify writes it, or shifted into an equal decimal', () => {
    fc.assert(
      fc.property(
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.nat({ max: 30 }),
        (d, shift) => {
          const s = JSON.stringify(d);
          expect(exactJsonIssues(s)).toEqual([]);
          // m × 10^e written as (m·10^shift)e(e−shift): the same decimal.
          const [mantissa, exponent = '0'] = s.split('e');
          const [int, frac = ''] = mantissa!.split('.');
          const shifted = `${int}${frac}${'0'.repeat(shift)}e${Number(exponent) - frac.length - shift}`;
          expect(exactJsonIssues(shifted), shifted).toEqual([]);
        },
      ),
      { numRuns: 1_000 },
    );
  });

  it('flags an integer exactly when JSON.parse then JSON.stringify would write another', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }), (b) => {
        const token = b.toString();
        const changed = integerValue(JSON.stringify(JSON.parse(token))) !== b;
        expect(exactJsonIssues(token).length).toBe(changed ? 1 : 0);
      }),
      { numRuns: 2_000 },
    );
  });

  it('flags any number with more significant digits than a double keeps', () => {
    fc.assert(
      fc.property(
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.integer({ min: 1, max: 9 }),
        (d, last) => {
          fc.pre(d !== 0);
          // 18+ significant digits ending in a non-zero digit never come back from a double.
          const digits = `${Math.abs(d).toExponential(16).split('e')[0]!.replace('.', '')}${last}`;
          const token = `${d < 0 ? '-' : ''}0.${digits}`;
          expect(paths(token)).toEqual(['']);
        },
      ),
      { numRuns: 1_000 },
    );
  });

  it('does not throw on malformed JSON, and finds nothing in it', () => {
    for (const text of [
      '',
      ' ',
      '{',
      '[',
      '"',
      '"\\u0000',
      '{"a"}',
      '{"a":}',
      '[1,]',
      '[1 2]',
      '01',
      '1.',
      '-',
      '1e',
      '+1',
      'tru',
      'nul',
      '{"a":1,}',
      '"\\x"',
      '"\\u12"',
      '"a\u0001"',
      '\ufeff{}',
      '[]]',
      '{"\\u0000":1',
      '[1e400',
      '{"a" 1}',
      '{1:2}',
      '[1]x',
      'NaN',
      'Infinity',
    ]) {
      expect(() => JSON.parse(text), text).toThrow();
      expect(exactJsonIssues(text), text).toEqual([]);
    }
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (s) => {
        const issues = exactJsonIssues(s);
        let parses = true;
        try {
          JSON.parse(s);
        } catch {
          parses = false;
        }
        if (!parses) expect(issues).toEqual([]);
      }),
      { numRuns: 2_000 },
    );
  });

  it('finds nothing in valid JSON broken by one inserted character', () => {
    fc.assert(
      fc.property(
        safeValue,
        fc.nat(),
        fc.constantFrom(',', ']', '}', '"', ':', ' ', '1', '-', '.'),
        (v, at, ch) => {
          const text = JSON.stringify(v);
          const i = at % (text.length + 1);
          const mutated = text.slice(0, i) + ch + text.slice(i);
          let parses = true;
          try {
            JSON.parse(mutated);
          } catch {
            parses = false;
          }
          if (!parses) expect(exactJsonIssues(mutated)).toEqual([]);
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('scans a 256 KiB body in one pass, finding the one bad value near its end', () => {
    const answers = Array.from({ length: 6_000 }, (_, i) => ({
      itemId: `item-${i}`,
      value: i % 3 === 0 ? i * 1.25 : i % 3 === 1 ? `text ${'é😀'.repeat(i % 7)}` : [i, true, null],
    }));
    const body = JSON.stringify({ requestId: 'r', answers });
    expect(body.length).toBeGreaterThan(256 * 1024);
    expect(exactJsonIssues(body)).toEqual([]);
    const bad = body.replace('"item-5998"', '"item-5998\\u0000"');
    expect(paths(bad)).toEqual(['answers.5998.itemId']);
    // Deep nesting neither recurses nor overflows.
    const deep = '['.repeat(300_000) + '"\\ud800"' + ']'.repeat(300_000);
    expect(paths(deep)).toEqual([Array.from({ length: 300_000 }, () => '0').join('.')]);
    expect(exactJsonIssues('['.repeat(300_000))).toEqual([]);
  });

  it(`keeps at most ${MAX_EXACT_JSON_ISSUES} issues`, () => {
    const many = JSON.stringify(Array.from({ length: 5_000 }, () => '\u0000'));
    expect(exactJsonIssues(many)).toHaveLength(MAX_EXACT_JSON_ISSUES);
    expect(exactJsonIssues(`${many}x`)).toEqual([]);
  });
});
