import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secureAnswers } from './secure-headers.js';
import { listen, type RunningServer } from './server.js';

const app = new Hono()
  .use(secureAnswers())
  .get('/ok', (c) => c.json({ ok: true }, 200))
  .get('/boom', () => {
    throw new Error('boom');
  })
  .onError((_e, c) => c.json({ error: 'internal' }, 500));

/** The answer's headers but those that differ by request (date, connection). */
function secureOf(res: Response): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of res.headers) {
    if (!['date', 'connection', 'keep-alive', 'content-length', 'content-type'].includes(k)) {
      out[k] = v;
    }
  }
  return out;
}

describe('secureAnswers', () => {
  let server: RunningServer;
  let url: string;
  beforeAll(async () => {
    server = await listen(app, 0, '127.0.0.1');
    url = `http://127.0.0.1:${server.port}`;
  });
  afterAll(() => server.close());

  it('puts the same headers on answers served by listen as Hono puts through app.request', async () => {
    const viaHono = secureOf(await app.request('/ok'));
    expect(viaHono['x-frame-options']).toBe('DENY');
    expect(viaHono['x-content-type-options']).toBe('nosniff');
    expect(viaHono['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    for (const path of ['/ok', '/boom', '/nowhere']) {
      const served = await fetch(`${url}${path}`);
      expect(secureOf(served), path).toEqual(viaHono);
      expect(secureOf(await app.request(path)), path).toEqual(viaHono);
    }
    const head = await fetch(`${url}/ok`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(secureOf(head)).toEqual(viaHono);
  });
});
