// bench:ingest — compares, in one run on one machine:
//   1. the HTTP ceiling: epro-api's Hono stack answering after validation, without publishing,
//      each connection a phone sending its own patient's reports with its own token (so the
//      edge verifies each phone's token once and finds it in its cache after), and once more
//      with every request bearing a token the edge has not seen;
//   2. the raw JetStream publish rate of the same NATS client (and an await-each baseline);
//   3. the full endpoint: the real epro-api process storing every report in JetStream;
//   4. a bare Hono app on @hono/node-server answering a fixed 202: the floor of any HTTP stack,
//      over which the ceiling's share is what epro-api's middleware costs;
//   5. for information, when DATABASE_URL is set: the synchronous design, each report inserted
//      into PostgreSQL before the answer;
// then checks that the stream holds exactly as many reports as the endpoint answered 202.
// The HTTP phases alternate for BENCH_ROUNDS rounds and medians are reported, so a noisy
// moment on the machine does not decide the ratio.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Publisher } from '@cohort/infra';
import {
  connect,
  provision,
  topology,
  freePort,
  NatsServer,
  trialsIn,
} from '@cohort/infra/testing';
import { jetstreamManager } from '@nats-io/jetstream';
import pg from 'pg';
import { dropSchemas, newSchema } from '../support/edc.js';
import { identity } from '../support/identity.js';
import { reportBody } from '../support/reports.js';
import { REPO_ROOT, ServiceProcess } from '../support/service-process.js';
import { type LoadResult } from './http-load.js';
import {
  CONNECTIONS,
  NEW_TOKENS,
  phoneToken,
  reports,
  signNewTokens,
  unseenTokenReports,
} from './report-load.js';
import { cachedTokenMicros, tokenVerificationMicros } from './token-cost.js';

/** Seconds per measured HTTP phase. */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
/** Alternating ceiling/full rounds; medians are reported. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** Messages for the raw publish phase. */
const PUBLISHES = Number(process.env.BENCH_PUBLISHES ?? 200_000);
/** In-flight publishes for the raw rate: enough to hide the round trip, bounded for memory. */
const IN_FLIGHT = 1024;
/** Unmeasured load before measuring, so both servers run with a warm JIT. */
const WARMUP_SECONDS = 2;

interface Row {
  name: string;
  rate: number;
  p50: number;
  p99: number;
  errors: number;
  /** The server's CPU microseconds per answer, for the HTTP phases. */
  cpu?: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

function summarize(name: string, runs: LoadResult[]): Row {
  return {
    name,
    rate: median(runs.map((r) => r.rate)),
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
    errors: runs.reduce((n, r) => n + r.total - (r.statuses.get(202) ?? 0), 0),
    cpu: median(runs.map((r) => r.serverMicros ?? 0)),
  };
}

async function rawPublish(
  nats: NatsServer,
  name: string,
  inFlight: number,
  count: number,
): Promise<Row> {
  const conn = await connect({ servers: nats.url, name: 'bench-raw' });
  const jsm = await jetstreamManager(conn.nc);
  const stream = `BENCH_${inFlight}`;
  await jsm.streams.add({
    name: stream,
    subjects: [`bench.${inFlight}.>`],
    storage: 'file',
  });
  const publisher = new Publisher(conn);
  const payload = new TextEncoder().encode(
    JSON.stringify({ id: crypto.randomUUID(), data: reportBody('BENCH', 'P1') }),
  );
  const latencies: number[] = [];
  let next = 0;
  let errors = 0;
  const start = performance.now();
  const worker = async () => {
    while (next < count) {
      const n = next++;
      const t = performance.now();
      try {
        await publisher.publish(`bench.${inFlight}.P${n % 1000}`, payload, { msgId: `m-${n}` });
      } catch {
        errors++;
      }
      latencies.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const elapsed = (performance.now() - start) / 1000;
  const stored = (await jsm.streams.info(stream)).state.messages;
  await conn.drain();
  latencies.sort((a, b) => a - b);
  return {
    name,
    rate: count / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    errors: errors + (count - stored),
  };
}

/** One of the bench's own servers (`test/dist/bench/<script>.js`), once it answers. */
async function benchServer(
  script: string,
  env: Record<string, string> = {},
): Promise<{ url: string; pid?: number; stop: () => void }> {
  const port = await freePort();
  const proc = spawn(process.execPath, [join(REPO_ROOT, 'test', 'dist', 'bench', `${script}.js`)], {
    env: { ...process.env, ...identity.env, ...env, PORT: String(port), LOG_LEVEL: 'warn' },
    stdio: 'inherit',
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try {
      await fetch(`${url}/healthz`);
      return { url, pid: proc.pid, stop: () => proc.kill('SIGTERM') };
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`${script} did not start`);
}

/** The synchronous design's server, in a PostgreSQL schema of its own (dropped at the end). */
async function syncServer(url: string) {
  const schema = newSchema();
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  return benchServer('sync-postgres-server', { DATABASE_URL: url, DATABASE_SCHEMA: schema });
}

const fmt = (n: number, d = 0) => n.toFixed(d).padStart(10);

const nats = await NatsServer.start();
try {
  console.error(
    `bench:ingest: ${ROUNDS} rounds of ${SECONDS}s per HTTP phase, ${CONNECTIONS} connections`,
  );
  console.error(`raw publish: ${PUBLISHES} messages, ${IN_FLIGHT} in flight`);
  const raw = await rawPublish(nats, `raw publish, ${IN_FLIGHT} in flight`, IN_FLIGHT, PUBLISHES);
  console.error('raw publish: awaiting each in turn');
  const naive = await rawPublish(nats, 'raw publish, 1 in flight', 1, Math.min(PUBLISHES, 10_000));

  const setup = await connect({ servers: nats.url, name: 'bench-setup' });
  await provision(setup, await jetstreamManager(setup.nc), topology());
  await trialsIn(setup, ['BENCH']);
  await setup.drain();
  console.error(`signing ${NEW_TOKENS} tokens`);
  await signNewTokens();
  const bare = await benchServer('bare-hono-server');
  const ceil = await benchServer('ceiling-server');
  const api = await ServiceProcess.start('epro-api', { NATS_URL: nats.url });
  const sync = process.env.DATABASE_URL ? await syncServer(process.env.DATABASE_URL) : undefined;
  console.error('warm-up');
  const warm = [await reports(ceil.url, WARMUP_SECONDS), await reports(api.url, WARMUP_SECONDS)];
  await reports(bare.url, WARMUP_SECONDS);
  if (sync) await reports(sync.url, WARMUP_SECONDS);
  const bareRuns: LoadResult[] = [];
  const ceilingRuns: LoadResult[] = [];
  const unseenRuns: LoadResult[] = [];
  const fullRuns: LoadResult[] = [];
  const syncRuns: LoadResult[] = [];
  for (let r = 1; r <= ROUNDS; r++) {
    console.error(
      `round ${r}/${ROUNDS}: bare Hono, HTTP ceiling (phones, then every token new), full endpoint${sync ? ', synchronous PostgreSQL' : ''}`,
    );
    bareRuns.push(await reports(bare.url, SECONDS, bare.pid));
    ceilingRuns.push(await reports(ceil.url, SECONDS, ceil.pid));
    unseenRuns.push(await unseenTokenReports(ceil.url, SECONDS, ceil.pid));
    fullRuns.push(await reports(api.url, SECONDS, api.proc.pid));
    if (sync) syncRuns.push(await reports(sync.url, SECONDS, sync.pid));
  }
  bare.stop();
  ceil.stop();
  sync?.stop();
  await api.stop('SIGTERM');
  const floor = summarize('bare Hono, fixed 202', bareRuns);
  const ceiling = summarize('HTTP ceiling (validate only)', ceilingRuns);
  const unseen = summarize('HTTP ceiling, every token new', unseenRuns);
  const full = summarize('full endpoint (202 after PubAck)', fullRuns);
  const syncRow = sync ? summarize('sync PostgreSQL INSERT, then 202', syncRuns) : undefined;

  const accepted = [warm[1]!, ...fullRuns].reduce((n, r) => n + (r.statuses.get(202) ?? 0), 0);
  const conn = await connect({ servers: nats.url, name: 'bench-check' });
  const stored = (await (await jetstreamManager(conn.nc)).streams.info('REPORTS')).state.messages;
  await conn.drain();

  console.log(
    `\nwhat (medians of ${ROUNDS} rounds)          req|msg/s    p50 ms    p99 ms    errors  server CPU µs/req`,
  );
  for (const r of [floor, ceiling, unseen, full, ...(syncRow ? [syncRow] : []), raw, naive]) {
    const cpu = r.cpu === undefined ? '' : fmt(r.cpu, 1);
    console.log(
      `${r.name.padEnd(36)}${fmt(r.rate)}${fmt(r.p50, 2)}${fmt(r.p99, 2)}${fmt(r.errors)}${cpu}`,
    );
  }
  const perRound = (a: LoadResult[], b: LoadResult[]) =>
    a.map((x, i) => (x.rate / b[i]!.rate).toFixed(2)).join(' ');
  console.log(`per round, full/ceiling: ${perRound(fullRuns, ceilingRuns)}`);
  console.log(`per round, ceiling/bare: ${perRound(ceilingRuns, bareRuns)}`);
  const ratio = full.rate / ceiling.rate;
  const stack = ceiling.rate / floor.rate;
  console.log('\nratios');
  console.log(`  HTTP ceiling / bare Hono         ${stack.toFixed(2)}   (goal >= 0.80)`);
  console.log(`  ceiling, every token new / bare   ${(unseen.rate / floor.rate).toFixed(2)}`);
  console.log(`  full endpoint / HTTP ceiling      ${ratio.toFixed(2)}   (goal >= 0.70)`);
  // The rates depend on the load generator too (it shares the machine); the server's own CPU
  // per answer does not: what epro-api's stack adds to a request, in µs.
  console.log(
    `  bare Hono / ceiling, server CPU   ${(floor.cpu! / ceiling.cpu!).toFixed(2)}   (${(ceiling.cpu! - floor.cpu!).toFixed(1)} µs more per request; every token new: ${(unseen.cpu! - floor.cpu!).toFixed(1)} µs)`,
  );
  console.log(`  full endpoint / bare Hono         ${(full.rate / floor.rate).toFixed(2)}`);
  if (syncRow) {
    console.log(`  full endpoint / sync PostgreSQL   ${(full.rate / syncRow.rate).toFixed(2)}`);
  } else {
    console.log('  sync PostgreSQL not measured: set DATABASE_URL to include it.');
  }
  console.log(`  full endpoint / raw publish       ${(full.rate / raw.rate).toFixed(2)}`);
  console.log(`  raw publish / awaiting each       ${(raw.rate / naive.rate).toFixed(2)}`);
  // What the bearer token alone costs: bare Hono's whole request takes its server's CPU per
  // answer; a request with a new token adds one verification to it, a phone's
  // next report one cache hit.
  const token = phoneToken(0);
  const verify = await tokenVerificationMicros(identity.keys, token, ROUNDS);
  const hit = await cachedTokenMicros(identity.keys, token, ROUNDS);
  const bareMicros = floor.cpu!;
  const atMost = (extra: number) => (bareMicros / (bareMicros + extra)).toFixed(2);
  console.log('\nthe token check alone, CPU');
  console.log(`  one ES256 verification (new token) ${verify.toFixed(1).padStart(6)} µs`);
  console.log(`  one cache hit (a phone's repeat)   ${hit.toFixed(1).padStart(6)} µs`);
  console.log(`  bare Hono request, server CPU      ${bareMicros.toFixed(1).padStart(6)} µs`);
  console.log(
    `  ceiling / bare Hono at most        ${atMost(verify)} with new tokens, ${atMost(hit)} with cache hits (if the token check were the only middleware)`,
  );
  console.log('\ncheck');
  const same = stored === accepted;
  console.log(
    `  202 answers: ${accepted}, reports in the stream: ${stored}: ${same ? 'equal' : 'DIFFERENT'}`,
  );
  const met = same && full.errors === 0 && ratio >= 0.7 && stack >= 0.8;
  console.log(
    `  goal ${met ? 'met' : 'NOT met'}: full/ceiling >= 0.70, ceiling/bare >= 0.80, zero errors, every 202 stored`,
  );
  process.exitCode = same && full.errors === 0 ? 0 : 1;
} finally {
  await nats.dispose();
  await dropSchemas();
}
