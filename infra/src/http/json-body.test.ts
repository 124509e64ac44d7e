import { request } from 'node:http';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpError, validationFailed } from './errors.js';
import { jsonBodies } from './json-body.js';
import { listen, type RunningServer } from './server.js';

const LIMIT = 1_000;

/** Echoes what the route reads, as text and as JSON; errors answer with their status. */
const app = new Hono()
  .use(
    jsonBodies(LIMIT, (text) =>
      text.includes('"refuse"') ? validationFailed([{ path: '', message: 'refused' }]) : undefined,
    ),
  )
  .post('/echo', async (c) => c.json({ text: await c.req.text(), json: await c.req.json() }, 200))
  .onError((e, c) => c.json({ error: e.message }, e instanceof HttpError ? e.status : 500));

/** One request over a new connection; `chunked` sends the body without Content-Length. */
function send(
  port: number,
  body: string | Buffer,
  opts: { chunked?: boolean; type?: string } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({
      port,
      host: '127.0.0.1',
      method: 'POST',
      path: '/echo',
      agent: false,
      headers: {
        'content-type': opts.type ?? 'application/json',
        ...(opts.chunked ? { 'transfer-encoding': 'chunked' } : {}),
      },
    });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on('error', reject);
    if (opts.chunked) {
      // In pieces, so the limit is crossed while reading.
      const bytes = Buffer.from(body);
      for (let i = 0; i < bytes.length; i += 300) req.write(bytes.subarray(i, i + 300));
      req.end();
    } else {
      req.end(body);
    }
  });
}

const padded = (bytes: number) => JSON.stringify({ pad: 'x'.repeat(bytes - 10) });

describe('jsonBodies', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await listen(app, 0, '127.0.0.1');
  });
  afterAll(() => server.close());

  for (const chunked of [false, true]) {
    describe(
      chunked ? 'served by listen, chunked' : 'served by listen, with Content-Length',
      () => {
        it('gives the route the body read once, as text and as JSON', async () => {
          const res = await send(server.port, '{"a":[1,"é"]}', { chunked });
          expect(res.status).toBe(200);
          expect(JSON.parse(res.body)).toEqual({ text: '{"a":[1,"é"]}', json: { a: [1, 'é'] } });
        });

        it('reads exactly the limit, and refuses one byte more with 413', async () => {
          expect(padded(LIMIT)).toHaveLength(LIMIT);
          expect((await send(server.port, padded(LIMIT), { chunked })).status).toBe(200);
          expect((await send(server.port, padded(LIMIT + 1), { chunked })).status).toBe(413);
          expect((await send(server.port, padded(50 * LIMIT), { chunked })).status).toBe(413);
        });

        it('refuses a body that is not JSON with 415, and answers the check', async () => {
          expect((await send(server.port, 'a=1', { chunked, type: 'text/plain' })).status).toBe(
            415,
          );
          expect((await send(server.port, '{"refuse":1}', { chunked })).status).toBe(400);
          expect((await send(server.port, '{"a":', { chunked })).status).toBe(500);
        });
      },
    );
  }

  it('reads the text as Request.text() does: BOM dropped, bad UTF-8 replaced', async () => {
    const bytes = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from('"a'),
      Buffer.from([0xff]),
      Buffer.from('"'),
    ]);
    const expected = await new Request('http://x', { method: 'POST', body: bytes }).text();
    const served = JSON.parse((await send(server.port, bytes)).body) as { text: string };
    expect(served.text).toBe(expected);
    expect(served.text).toBe('"a\ufffd"');
  });

  it('answers alike through app.request (a fetch Request)', async () => {
    const post = (body: string) =>
      app.request('/echo', {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json' },
      });
    expect(await (await post('{"a":1}')).json()).toEqual({ text: '{"a":1}', json: { a: 1 } });
    expect((await post(padded(LIMIT + 1))).status).toBe(413);
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 5; i++) c.enqueue(Buffer.from(padded(LIMIT / 2)));
        c.close();
      },
    });
    const streamed = await app.request('/echo', {
      method: 'POST',
      body: stream,
      headers: { 'content-type': 'application/json' },
      duplex: 'half',
    });
    expect(streamed.status).toBe(413);
  });
});
