import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { envelopeHead } from './envelope-head.js';

const bytes = (text: string) => new TextEncoder().encode(text);

/** What a full parse says the type and version are, when both are there and of the right kind. */
function parsedHead(text: string): { type: string; version: number } | null {
  try {
    const value = JSON.parse(text) as { type?: unknown; version?: unknown } | null;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
    const { type, version } = value;
    return typeof type === 'string' && Number.isInteger(version)
      ? { type, version: version as number }
      : null;
  } catch {
    return null;
  }
}

describe('envelopeHead', () => {
  it('reads what a full parse reads, for any object holding a type and a version', () => {
    const envelope = fc.record({
      before: fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 4 }),
      type: fc.string(),
      version: fc.integer(),
      after: fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 4 }),
      space: fc.constantFrom(undefined, 1, '\t'),
    });
    fc.assert(
      fc.property(envelope, ({ before, type, version, after, space }) => {
        const event = { ...before, type, version, ...after };
        const text = JSON.stringify(event, null, space);
        const head = envelopeHead(bytes(text));
        // Null sends the event to a full parse; anything else must be what that parse says.
        if (head !== null) expect(head).toEqual(parsedHead(text));
        // An envelope as Cohort writes it (plain keys first) is always read.
        if (Object.keys(before).length === 0 && JSON.stringify(event.type) === `"${event.type}"`) {
          expect(head).toEqual({ type: event.type, version: event.version });
        }
      }),
      { numRuns: 500 },
    );
  });

  it('never throws, and agrees with a full parse wherever the bytes are JSON', () => {
    const text = fc.oneof(
      fc.string(),
      fc.json(),
      fc.json().map((j) => j.slice(0, Math.floor(j.length / 2))),
    );
    fc.assert(
      fc.property(text, (t) => {
        const head = envelopeHead(bytes(t));
        const parsed = parsedHead(t);
        if (head !== null && parsed !== null) expect(head).toEqual(parsed);
      }),
      { numRuns: 1000 },
    );
  });

  it('leaves to the full parse what it does not read', () => {
    for (const text of [
      '',
      'null',
      '[{"type":"A","version":1}]',
      '{"type":"A"}',
      '{"type":1,"version":1}',
      '{"type":"A","version":1.5}',
      '{"typ\\u0065":"A","version":1}',
      '{"type":"A\\"B","version":1}',
      '{"type":"A" "version":1}',
    ]) {
      expect(envelopeHead(bytes(text)), text).toBeNull();
    }
    expect(
      envelopeHead(bytes(' { "id" : [1,{"type":"X"}] , "type":"A","version":2,"data":{}}')),
    ).toEqual({ type: 'A', version: 2 });
  });
});
