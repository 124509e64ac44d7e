import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { getRequestListener, RequestError } from '@hono/node-server';
import { Hono } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import { SECURE_HEADERS } from './secure-headers.js';

type FetchCallback = Parameters<typeof getRequestListener>[0];

/** An app that answers requests: a Hono app, or anything with its `fetch`. */
export type Fetchable = { fetch: FetchCallback };

/**
 * Server timeouts, so that slow or idle clients cannot hold the server: request headers must
 * arrive within 10 s (of the connection, or of the request's first byte), a whole request
 * within 30 s (a 256 KiB diary entry takes milliseconds), and an idle keep-alive connection is
 * closed after 5 s (Node's default, stated).
 */
export const HEADERS_TIMEOUT_MS = 10_000;
export const REQUEST_TIMEOUT_MS = 30_000;
export const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/**
 * How often Node enforces the headers and request timeouts: at its default (30 s) a client
 * trickling its headers held a connection for up to 40 s against the 10 s limit.
 */
export const TIMEOUT_CHECK_INTERVAL_MS = 1_000;

export interface RunningServer {
  port: number;
  /** Stops accepting connections and resolves once in-flight requests have finished. */
  close(): Promise<void>;
}

/**
 * What never reaches the app still gets an answer in the common error shape with the headers
 * every answer carries: a request @hono/node-server cannot turn into a URL (an invalid Host, a
 * backslash in the path) is a 400; an app that throws instead of answering, a 500.
 */
const unreadable = new Hono()
  .use(secureHeaders(SECURE_HEADERS))
  .get('/400', (c) => c.json({ error: 'bad_request', message: 'the request cannot be read' }, 400))
  .get('/500', (c) => c.json({ error: 'internal', message: 'unexpected error' }, 500));

const adapterError = (e: unknown) =>
  unreadable.fetch(new Request(`http://localhost/${e instanceof RequestError ? 400 : 500}`));

/**
 * HEAD is answered as GET without the body, with every header of the GET answer. Hono derives
 * a HEAD answer with `new Response(null, answer)`, which @hono/node-server 1.x rebuilds from the
 * headers the answer was created with, dropping those set afterwards (the secure headers,
 * WWW-Authenticate, Retry-After).
 */
function answeringHead(fetch: FetchCallback): FetchCallback {
  const head: FetchCallback = async (req, env) => {
    const get = new Request(req.url, { method: 'GET', headers: req.headers });
    const res = (await fetch(get, env)) as Response;
    // Headers and status before the body: reading the body rebuilds the answer the same way.
    const headers = new Headers(res.headers);
    const status = res.status;
    await res.body?.cancel();
    return new Response(null, { status, headers });
  };
  // Any other request goes straight to the app, with no promise of its own around the answer.
  return (req, env) => (req.method === 'HEAD' ? head(req, env) : fetch(req, env));
}

/** Serves an app on `host:port` (port 0: any free one), resolving once it listens. */
export function listen(app: Fetchable, port: number, host = '0.0.0.0'): Promise<RunningServer> {
  // The listener answers every error itself (adapterError, or a 500 once headers are out).
  const handle = getRequestListener(answeringHead(app.fetch), {
    hostname: host,
    errorHandler: adapterError,
  });
  const server = createServer(
    {
      headersTimeout: HEADERS_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
    },
    (req, res) => void handle(req, res),
  );
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  // Node starts the headers clock at a request's first byte: a connection that never sends one
  // would be held forever. It gets the same limit; once a request arrives, Node's timeouts rule.
  server.on('connection', (socket: Socket) => socket.setTimeout(HEADERS_TIMEOUT_MS));
  let closing = false;
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (req.socket.timeout) req.socket.setTimeout(0);
    // A keep-alive connection whose last answer ends while the server closes would hold
    // close() for the keep-alive timeout: it is closed as soon as it is idle.
    res.once('finish', () => {
      if (closing) setImmediate(() => server.closeIdleConnections());
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            closing = true;
            server.close(() => done());
            // Keep-alive sockets with no request in flight would hold close() open.
            server.closeIdleConnections();
          }),
      });
    });
  });
}
