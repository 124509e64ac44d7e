import { serve } from '@hono/node-server';
import type { Server } from 'node:http';

/** An app that answers requests: a Hono app, or anything with its `fetch`. */
export type Fetchable = { fetch: Parameters<typeof serve>[0]['fetch'] };

/**
 * Server timeouts, so that slow or idle clients cannot hold the server: request headers must
 * arrive within 10 s, a whole request within 30 s (a 256 KiB diary entry takes milliseconds),
 * and an idle keep-alive connection is closed after 5 s (Node's default, stated).
 */
export const HEADERS_TIMEOUT_MS = 10_000;
export const REQUEST_TIMEOUT_MS = 30_000;
export const KEEP_ALIVE_TIMEOUT_MS = 5_000;

export interface RunningServer {
  port: number;
  /** Stops accepting connections and resolves once in-flight requests have finished. */
  close(): Promise<void>;
}

/** Serves an app on `host:port` (port 0: any free one), resolving once it listens. */
export function listen(app: Fetchable, port: number, host = '0.0.0.0'): Promise<RunningServer> {
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port, hostname: host }, (info) => {
      resolve({
        port: info.port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            // Keep-alive sockets with no request in flight would hold close() open.
            if ('closeIdleConnections' in server) server.closeIdleConnections();
          }),
      });
    }) as Server;
    server.headersTimeout = HEADERS_TIMEOUT_MS;
    server.requestTimeout = REQUEST_TIMEOUT_MS;
    server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  });
}
