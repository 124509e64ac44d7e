import { Pool } from 'undici';
import { cpuSeconds } from './proc-stats.js';

export interface LoadResult {
  /** Responses per second over the whole phase, in-flight requests included. */
  rate: number;
  p50: number;
  p99: number;
  /** Count per HTTP status; 0 stands for a failed connection. */
  statuses: Map<number, number>;
  total: number;
  /** CPU microseconds the server process used per answer (user + system), when its pid is given. */
  serverMicros?: number;
}

/**
 * A closed-loop HTTP load: `connections` workers, each sending its next request as soon as the
 * previous one is answered, until `seconds` have passed. Every request sent is awaited, so the
 * counts are exact (a check against the stream can be exact too). Request `i` sent by worker
 * `w` (0 to connections - 1) is `request(i, w)`: a worker can act as one client (a phone with
 * its own token).
 */
export async function httpLoad(opts: {
  url: string;
  path: string;
  connections: number;
  seconds: number;
  /** The `i`th request's body and headers (e.g. a bearer token), sent by worker `w`. */
  request: (i: number, w: number) => { body: string; headers?: Record<string, string> };
  /** The server's process, whose CPU time is read before and after. */
  serverPid?: number;
}): Promise<LoadResult> {
  const cpuBefore = await cpuSeconds(opts.serverPid);
  const pool = new Pool(opts.url, { connections: opts.connections, pipelining: 1 });
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  let i = 0;
  const start = performance.now();
  const deadline = start + opts.seconds * 1000;
  const worker = async (w: number) => {
    while (performance.now() < deadline) {
      const { body, headers } = opts.request(i++, w);
      const t = performance.now();
      let status = 0;
      try {
        const res = await pool.request({
          path: opts.path,
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body,
        });
        status = res.statusCode;
        await res.body.dump();
      } catch {
        status = 0;
      }
      latencies.push(performance.now() - t);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: opts.connections }, (_, w) => worker(w)));
  const elapsed = (performance.now() - start) / 1000;
  const serverCpu = (await cpuSeconds(opts.serverPid)) - cpuBefore;
  await pool.close();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  return {
    rate: latencies.length / elapsed,
    p50: pct(0.5),
    p99: pct(0.99),
    statuses,
    total: latencies.length,
    ...(opts.serverPid === undefined ? {} : { serverMicros: (serverCpu * 1e6) / latencies.length }),
  };
}
