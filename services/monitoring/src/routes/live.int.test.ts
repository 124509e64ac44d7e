import { createApi } from '@cohort/infra';
import {
  createLogger,
  listen,
  openStore,
  ServiceMetrics,
  testTokens,
  type SqlStore,
} from '@cohort/infra/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertsView } from '../alerts-view.js';
import { diaries } from '../diaries.js';
import { trials } from '../trials.js';
import { liveRoutes } from './live.js';

const tokens = await testTokens();
let store: SqlStore;

beforeAll(async () => {
  store = await openStore({ service: 'live-test' });
  // The read models' tables, which the stream watches for changes.
  for (const p of [trials, diaries, alertsView]) {
    for (const m of [...p.migrations].sort((a, b) => a.version - b.version))
      await store.exec(m.sql);
  }
});

afterAll(async () => {
  await store?.close();
});

describe('GET /v1/events over a real server', () => {
  it('ends the open streams when the service stops, so that the server can close', async () => {
    const stopping = new AbortController();
    const app = createApi({
      service: 'monitoring',
      description: 'live updates',
      auth: tokens.keys,
      metrics: new ServiceMetrics('monitoring', { defaults: false }),
      log: createLogger('live-test'),
      ready: {},
    });
    liveRoutes(app, { db: store, stopping: stopping.signal });
    const server = await listen(app, 0, '127.0.0.1');
    const res = await fetch(`http://127.0.0.1:${server.port}/v1/events`, {
      headers: await tokens.header({ sub: 'cra.kim', role: 'monitor', trials: ['*'] }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!text.includes('\n\n')) text += (await reader.read()).value ?? '';
    expect(text).toMatch(/^event: changed\n/m);

    stopping.abort();
    // Without the streams ending, close() waits for them forever (and the test times out).
    await server.close();
    for (;;) {
      const { done } = await reader.read();
      if (done) break;
    }
  });
});
