import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SseParser } from '../dashboard/sse.js';

type Event = { type: string; data: string; id: string };

/** Every event the parser dispatches for the chunks, in order. */
function parse(chunks: string[]): Event[] {
  const events: Event[] = [];
  const parser = new SseParser((e) => events.push(e));
  for (const c of chunks) parser.push(c);
  return events;
}

describe("the dashboard's event-stream parser", () => {
  it('reads what Hono streamSSE writes', () => {
    expect(parse(['event: changed\ndata: {}\nid: 1\n\nevent: tick\ndata: {}\nid: 2\n\n'])).toEqual([
      { type: 'changed', data: '{}', id: '1' },
      { type: 'tick', data: '{}', id: '2' },
    ]);
  });

  it('joins data lines, skips comments, defaults the type to message, takes any line end', () => {
    expect(parse([': keep-alive\r\ndata: a\rdata:b\r\n\r\nevent:x\n\n'])).toEqual([
      { type: 'message', data: 'a\nb', id: '' },
      { type: 'x', data: '', id: '' },
    ]);
  });

  it('dispatches nothing for an event whose blank line has not arrived', () => {
    expect(parse(['event: changed\ndata: {}\n'])).toEqual([]);
  });

  it('reads the same events however the stream is cut into chunks', () => {
    const text =
      'event: changed\r\ndata: {}\r\nid: 7\r\n\r\n: comment\n\nevent: tick\rdata: {}\r\rdata: x\n\n';
    const whole = parse([text]);
    expect(whole).toHaveLength(3);
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: text.length - 1 })), (cuts) => {
        const at = [0, ...cuts.sort((a, b) => a - b), text.length];
        const chunks = at.slice(1).map((end, i) => text.slice(at[i], end));
        expect(parse(chunks)).toEqual(whole);
      }),
    );
  });
});
