// bench:replay — compares, in one run on one machine, for a REPORTS stream of BENCH_EVENTS
// (default 500000) events and of half as many:
//   1. the raw read rate of an ordered consumer (every message delivered, nothing done with it);
//   2. `cohort replay` to JSONL (upcast, one line per message) and to CSV (one row per message,
//      through a spill file until every column is known), written to /dev/null;
//   3. each one's CPU per message (every thread: replay formats on a second one) and peak RSS
//      (VmHWM), which should not grow with the stream.
// Every reader runs as its own process (the raw one is raw-read.ts), timed from spawn to exit:
// each rate includes its start-up (node, the connection, the consumer; the CLI's is about
// 0.25 s longer, for its code, the token check and its formatting thread). Medians of
// BENCH_ROUNDS (3).
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { reportSubject } from '@cohort/contracts';
import {
  connect,
  NatsServer,
  provision,
  reportSubmitted,
  reportSubmittedV1,
  topology,
} from '@cohort/infra/testing';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { identity } from '../support/identity.js';
import { cpuSeconds, median, peakRssMb } from './proc-stats.js';
import { REPO_ROOT } from '../support/service-process.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 500_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const STREAM = 'REPORTS';
const BIN = join(REPO_ROOT, 'infra', 'bin', 'cohort.mjs');
/** Items per diary entry: a short daily questionnaire. */
const ITEMS = 8;
/** Publishes awaited together while filling the stream. */
const FILL_IN_FLIGHT = 1_000;
/** How often a reader's VmHWM is sampled; it only grows, so the last sample is its peak. */
const RSS_SAMPLE_MS = 50;

async function fill(url: string, from: number, to: number): Promise<void> {
  const conn = await connect({ servers: url, name: 'bench-fill' });
  await provision(conn, await jetstreamManager(conn.nc), topology());
  const js = jetstream(conn.nc);
  const enc = new TextEncoder();
  const inFlight: Promise<unknown>[] = [];
  for (let i = from; i < to; i++) {
    const over = { trialId: `T-${i % 10}`, patientId: `P-${i % 1_000}` };
    const e = i % 2 ? reportSubmittedV1(over) : reportSubmitted({ ...over, siteId: 'S-1' });
    const answers = Array.from({ length: ITEMS }, (_, k) => ({
      itemId: `q${k}`,
      value: (i + k) % 11,
    }));
    const body = enc.encode(JSON.stringify({ ...e, data: { ...e.data, answers } }));
    inFlight.push(js.publish(reportSubject(over.trialId, over.patientId), body));
    if (inFlight.length >= FILL_IN_FLIGHT) await Promise.all(inFlight.splice(0));
  }
  await Promise.all(inFlight);
  await conn.drain();
}

interface Run {
  seconds: number;
  cpuSeconds: number;
  /** What nats-server used meanwhile, serving the read. */
  serverCpuSeconds: number;
  rssMb: number;
}

const REPORT_CPU = join(dirname(fileURLToPath(import.meta.url)), 'report-cpu.js');

/**
 * One reader process, `command` run as it is (the CLI by its own `#!` line, with the node flags
 * it gives itself): its wall time from spawn to exit, its CPU time and its peak RSS.
 */
async function run(
  [command, ...args]: string[],
  env: NodeJS.ProcessEnv,
  natsPid: number | undefined,
): Promise<Run> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-replay-'));
  const server = await cpuSeconds(natsPid);
  const cpuFile = join(dir, 'cpu');
  const start = performance.now();
  const child = spawn(command!, args, {
    env: { ...env, BENCH_CPU_FILE: cpuFile, NODE_OPTIONS: `--import=${REPORT_CPU}` },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let peak = 0;
  const sampler = setInterval(() => {
    void peakRssMb(child.pid!).then(
      (mb) => (peak = Math.max(peak, mb)),
      () => undefined,
    );
  }, RSS_SAMPLE_MS);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const seconds = (performance.now() - start) / 1000;
  clearInterval(sampler);
  if (code !== 0) throw new Error(`${args.join(' ')} exited ${code}: ${stderr}`);
  const readerCpuSeconds = Number(await readFile(cpuFile, 'utf8')) / 1e6;
  await rm(dir, { recursive: true, force: true });
  const serverCpuSeconds = (await cpuSeconds(natsPid)) - server;
  return { seconds, cpuSeconds: readerCpuSeconds, serverCpuSeconds, rssMb: peak };
}

interface Measured {
  rate: number;
  cpuMicros: number;
  serverCpuMicros: number;
  rssMb: number;
}

async function measure(
  n: number,
  url: string,
  natsPid: number | undefined,
): Promise<Record<'raw' | 'jsonl' | 'csv', Measured>> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...identity.env,
    NATS_URL: url,
    COHORT_TOKEN: await identity.sign({ sub: 'bench', role: 'sponsor', trials: ['*'] }),
  };
  for (const v of ['NATS_USER', 'NATS_PASSWORD', 'NATS_TOKEN', 'DATA_DIR']) delete env[v];
  const raw = join(dirname(fileURLToPath(import.meta.url)), 'raw-read.js');
  const readers = {
    raw: [process.execPath, raw, url, STREAM],
    jsonl: [BIN, 'replay', STREAM, '--out', '/dev/null'],
    csv: [BIN, 'replay', STREAM, '--format', 'csv', '--out', '/dev/null'],
  };
  const runs: Record<string, Run[]> = { raw: [], jsonl: [], csv: [] };
  // Rounds interleave the readers, so a slow moment of the machine falls on all of them.
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, args] of Object.entries(readers))
      runs[name]!.push(await run(args, env, natsPid));
  }
  const summary = (rs: Run[]) => ({
    rate: n / median(rs.map((r) => r.seconds)),
    cpuMicros: (median(rs.map((r) => r.cpuSeconds)) * 1e6) / n,
    serverCpuMicros: (median(rs.map((r) => r.serverCpuSeconds)) * 1e6) / n,
    rssMb: Math.max(...rs.map((r) => r.rssMb)),
  });
  return { raw: summary(runs.raw!), jsonl: summary(runs.jsonl!), csv: summary(runs.csv!) };
}

async function main() {
  const sizes = [Math.floor(EVENTS / 2), EVENTS];
  console.log(
    `bench:replay — ${sizes.map((s) => s.toLocaleString('en')).join(' and ')} ReportSubmitted ` +
      `(half v1, ${ITEMS} answers each), ${ROUNDS} round(s), ${cpus().length} core(s)`,
  );
  const nats = await NatsServer.start();
  const results: { n: number; m: Awaited<ReturnType<typeof measure>> }[] = [];
  try {
    let stored = 0;
    for (const n of sizes) {
      const t = performance.now();
      await fill(nats.url, stored, n);
      stored = n;
      console.log(
        `filled to ${n.toLocaleString('en')} in ${((performance.now() - t) / 1000).toFixed(1)} s`,
      );
      results.push({ n, m: await measure(n, nats.url, nats.pid) });
    }
  } finally {
    await nats.dispose();
  }
  const rate = (x: number) => `${Math.round(x).toLocaleString('en')}/s`.padStart(12);
  const mb = (x: number) => `${x.toFixed(0)} MB`.padStart(9);
  const micros = (x: number) => `${x.toFixed(1)} µs`.padStart(10);
  console.log(
    `\n${'events'.padEnd(10)}${'reader'.padEnd(30)}${'rate'.padStart(12)}${'CPU/msg'.padStart(10)}` +
      `${'server'.padStart(10)}${'peak RSS'.padStart(9)}  rate vs raw`,
  );
  const labels = {
    raw: 'raw ordered-consumer read',
    jsonl: 'cohort replay --format jsonl',
    csv: 'cohort replay --format csv',
  } as const;
  for (const { n, m } of results) {
    for (const k of ['raw', 'jsonl', 'csv'] as const) {
      const ratio = k === 'raw' ? '' : `  ${(m[k].rate / m.raw.rate).toFixed(2)}`;
      console.log(
        `${n.toLocaleString('en').padEnd(10)}${labels[k].padEnd(30)}${rate(m[k].rate)}` +
          `${micros(m[k].cpuMicros)}${micros(m[k].serverCpuMicros)}${mb(m[k].rssMb)}${ratio}`,
      );
    }
  }
  const [small, large] = results;
  console.log(
    '\nratios (goal: replay ≥ 0.7 of raw; RSS flat from the smaller stream to the larger)',
  );
  for (const k of ['jsonl', 'csv'] as const) {
    const { n: l, m: lm } = large!;
    const { n: s, m: sm } = small!;
    console.log(
      `  ${k.padEnd(6)} rate vs raw: ${(lm[k].rate / lm.raw.rate).toFixed(2)} at ` +
        `${l.toLocaleString('en')}, ${(sm[k].rate / sm.raw.rate).toFixed(2)} at ` +
        `${s.toLocaleString('en')}; CPU per message vs raw: ` +
        `${(lm[k].cpuMicros / lm.raw.cpuMicros).toFixed(2)}; peak RSS ` +
        `${l.toLocaleString('en')} / ${s.toLocaleString('en')}: ` +
        `${(lm[k].rssMb / sm[k].rssMb).toFixed(2)}`,
    );
  }
  // The readers and nats-server share the machine's cores: a reader that needs more CPU a
  // message than the raw read, with the server's, cannot keep up with it once they are all busy.
  const cores = cpus().length;
  const { m: lm } = large!;
  const total = (k: 'raw' | 'jsonl' | 'csv') => lm[k].cpuMicros + lm[k].serverCpuMicros;
  for (const k of ['jsonl', 'csv'] as const) {
    const bound = Math.min(1, (cores * 1e6) / total(k) / lm.raw.rate);
    console.log(
      `  ${k.padEnd(6)} with nats-server, ${total(k).toFixed(1)} CPU-µs a message against the raw ` +
        `read's ${total('raw').toFixed(1)}: on ${cores} core(s), at most ${bound.toFixed(2)} of ` +
        'the raw rate even if nothing ever waited',
    );
  }
}

await main();
