import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BatchWriter, readBatch, type BatchMessage } from './batch.js';

describe('a packed batch', () => {
  it('gives back every message as it was added, whatever their size', () => {
    const message = fc.record({
      seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
      nanos: fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }).map(String),
      subject: fc.string({ unit: 'grapheme', maxLength: 40 }),
      data: fc.uint8Array({ maxLength: 3000 }),
    });
    fc.assert(
      fc.property(fc.array(message, { maxLength: 30 }), (messages: BatchMessage[]) => {
        // A small start, so that larger messages make it grow.
        const writer = new BatchWriter(64);
        for (const m of messages) writer.add(m);
        expect(writer.count).toBe(messages.length);
        const back = [...readBatch(writer.take())];
        expect(back).toEqual(messages);
        expect(writer.count).toBe(0);
      }),
      { numRuns: 200 },
    );
  });
});
