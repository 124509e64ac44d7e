// The floor of `bench:ingest`'s HTTP stack: a bare Hono app on @hono/node-server answering a
// fixed 202 to every report, with no middleware, no token check and no validation. The stack
// ceiling (ceiling-server.ts) over this is what epro-api's middleware costs.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const app = new Hono()
  .get('/healthz', (c) => c.text('ok'))
  .post('/v1/reports', (c) => c.json({ accepted: true }, 202));

serve({ fetch: app.fetch, port: Number(process.env.PORT), hostname: '127.0.0.1' });
