import { OpenAPIHono } from '@hono/zod-openapi';
import type { Connection } from '../connection.js';
import { mountOps, natsReady } from '../http/ops.js';
import { listen } from '../http/server.js';
import type { Logger } from '../logger.js';
import type { ServiceMetrics } from '../metrics.js';
import { provisionOrVerify } from '../topology-check.js';
import type { Topology } from '../topology.js';

/** How often a service waiting for its topology looks again: soon after `cohort provision`. */
export const TOPOLOGY_RETRY_MS = 2_000;

/**
 * Provisions the topology a service needs where its NATS user may, or verifies it where it may
 * not. When something is missing (a stream or bucket its user may not create), the service
 * still starts: it logs what is missing and why, serves `/healthz` and a `/readyz` that names it
 * (503), and looks again every TOPOLOGY_RETRY_MS until it is there. Resolves then.
 */
export async function awaitTopology(opts: {
  conn: Connection;
  topology: Topology;
  log: Logger;
  metrics: ServiceMetrics;
  user: string | undefined;
  port: number;
  host: string;
}): Promise<void> {
  const { conn, log } = opts;
  let check = await provisionOrVerify(conn, opts.topology);
  for (const a of check.actions) log.info(a, 'topology');
  if (check.refused.length > 0) {
    log.warn(
      { user: opts.user, refused: check.refused, missing: check.missing },
      'this NATS user may not provision the topology (admin provisions: cohort provision); verified what exists instead',
    );
  }
  if (check.missing.length === 0) return;
  const why = () =>
    `missing: ${check.missing.join(', ')}; provision it as admin: npx cohort provision`;
  log.error({ missing: check.missing }, 'the topology this service needs is missing; waiting');
  const app = new OpenAPIHono();
  mountOps(app, opts.metrics, {
    nats: natsReady(conn),
    topology: () => Promise.resolve(check.missing.length > 0 ? why() : null),
  });
  const server = await listen(app, opts.port, opts.host);
  try {
    while (check.missing.length > 0) {
      await new Promise((r) => setTimeout(r, TOPOLOGY_RETRY_MS));
      check = await provisionOrVerify(conn, opts.topology).catch((e: unknown) => {
        log.warn({ err: (e as Error).message }, 'topology check failed; retrying');
        return check;
      });
    }
  } finally {
    await server.close();
  }
  log.info('the topology this service needs is there');
}
