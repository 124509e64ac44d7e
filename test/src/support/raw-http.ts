import { Agent, request, type IncomingHttpHeaders } from 'node:http';

/** An answer as the wire carried it. */
export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface RawRequest {
  method: string;
  /** Sent as it is: not normalised, so `..`, `%2e` and `//` reach the server. */
  path: string;
  /** An array sends the header once per value. */
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
}

/**
 * Idle connections are given up this long after their last answer: before the server closes
 * them (5 s), so that a request never goes out on a connection the server is closing.
 */
const IDLE_SOCKET_MS = 3_000;

/**
 * Keep-alive connections shared by a test file's requests, so hundreds of requests do not
 * open hundreds of sockets. `destroy()` it in afterAll.
 */
export function keepAliveAgent(): Agent {
  return new Agent({ keepAlive: true, maxSockets: 8, timeout: IDLE_SOCKET_MS });
}

/**
 * One HTTP/1.1 request with node:http, which sends the path and repeated headers as they are
 * (fetch would normalise the path and join repeated headers into one).
 */
export function rawRequest(base: string, req: RawRequest, agent?: Agent): Promise<RawResponse> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const r = request(
      {
        host: url.hostname,
        port: url.port,
        method: req.method,
        path: req.path,
        headers: req.headers,
        agent,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    r.on('error', reject);
    r.end(req.body);
  });
}
