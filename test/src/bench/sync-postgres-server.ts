// For comparison in `bench:ingest`: the synchronous design, a bare Hono app that inserts each
// report into PostgreSQL (DATABASE_URL) before it answers 202, one INSERT and commit per request,
// without token check or validation. It shows what answering after a database commit costs
// next to answering after a JetStream PubAck.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import pg from 'pg';

/** Connections in the pool: as many as PostgreSQL commits well on a small machine. */
const POOL_SIZE = 16;
const schema = process.env.DATABASE_SCHEMA!;
const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL,
  max: POOL_SIZE,
  options: `-c search_path=${schema}`,
});
await pool.query(
  `CREATE TABLE IF NOT EXISTS reports (request_id uuid PRIMARY KEY, body jsonb NOT NULL)`,
);

const app = new Hono()
  .get('/healthz', (c) => c.text('ok'))
  .post('/v1/reports', async (c) => {
    const body = await c.req.json<{ requestId: string }>();
    await pool.query(
      'INSERT INTO reports (request_id, body) VALUES ($1, $2) ON CONFLICT DO NOTHING',
      [body.requestId, body],
    );
    return c.json({ accepted: true }, 202);
  });

serve({ fetch: app.fetch, port: Number(process.env.PORT), hostname: '127.0.0.1' });
