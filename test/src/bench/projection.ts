// bench:projection — compares, in one run on one machine, for PGlite and (when DATABASE_URL is
// set) PostgreSQL:
//   1. the raw batched upsert rate into the EDC table (500 rows per transaction, nothing else),
//      and the same rows as plain inserts;
//   2. the raw consume-and-ack rate of a durable pull consumer over the same backlog;
//   3. the EDC projection's drain rate: the real edc process working off a pre-filled backlog
//      (inbox rows, summaries, commit, ack), and its peak RSS at two backlog sizes; and the
//      monitoring process's over the same backlog (diary entries, each checked against a rule);
//   4. the subscriber's database work alone, without NATS: inbox rows and the EDC statement;
//   5. where the CPU went, per message, and how many cores that kept busy (from /proc, on Linux);
//      the drain's CPU per message over the raw upsert's is the projection's overhead.
// BENCH_BACKLOG (default 100000) sets the larger backlog; the smaller one is half of it. Every
// phase runs BENCH_ROUNDS times (default 3), the phases of a round one after the other, and the
// medians are reported; peak RSS is the highest of the rounds.
import { cpus } from 'node:os';
import { NatsServer } from '@cohort/infra/testing';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { dropSchemas, metric } from '../support/edc.js';
import { ServiceProcess } from '../support/service-process.js';
import { fillBacklog } from './backlog.js';
import { kinds, type Kind } from './databases.js';
import { rawWrite, rawWrites, ROWS_PER_TX, subscriberWrite } from './raw-writes.js';
import { cpuPerMessage, cpuSample, median, peakRssMb, type CpuSplit } from './proc-stats.js';

const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

/** Fetch 500, ack each, until the backlog is consumed: the ceiling of any subscriber. */
async function rawConsume(n: number): Promise<number> {
  const nats = await NatsServer.start();
  const conn = await fillBacklog(nats, n);
  const jsm = await jetstreamManager(conn.nc);
  await jsm.consumers.add('REPORTS', { durable_name: 'bench-raw', ack_policy: AckPolicy.Explicit });
  const consumer = await jetstream(conn.nc).consumers.get('REPORTS', 'bench-raw');
  let seen = 0;
  const start = performance.now();
  while (seen < n) {
    for await (const m of await consumer.fetch({ max_messages: ROWS_PER_TX, expires: 2_000 })) {
      m.ack();
      seen++;
    }
  }
  await conn.nc.flush();
  const rate = n / ((performance.now() - start) / 1000);
  await conn.drain();
  await nats.dispose();
  return rate;
}

/** A service's process over a pre-filled backlog: rate from its durable's first ack to its last. */
async function drain(
  kind: Kind,
  n: number,
  service: 'edc' | 'monitoring' = 'edc',
  durable = 'edc-case-reports',
): Promise<{ rate: number; rssMb: number; cpu: CpuSplit }> {
  const nats = await NatsServer.start();
  const conn = await fillBacklog(nats, n);
  const jsm = await jetstreamManager(conn.nc);
  const edc = await ServiceProcess.start(service, await kind.env(nats.url), { waitReady: false });
  let t0 = 0;
  let floor0 = 0;
  let floor = 0;
  let cpu0: CpuSplit | undefined;
  while (floor < n) {
    await new Promise((r) => setTimeout(r, 25));
    if (edc.proc.exitCode !== null) throw new Error(`${service} exited: ${edc.output.join('')}`);
    try {
      floor = (await jsm.consumers.info('REPORTS', durable)).ack_floor.stream_seq;
    } catch {
      continue; // not created yet
    }
    if (floor > 0 && t0 === 0) {
      t0 = performance.now();
      floor0 = floor;
      cpu0 = await cpuSample(kind.name === 'PostgreSQL', edc.proc.pid!, nats.pid);
    }
  }
  const rate = (n - floor0) / ((performance.now() - t0) / 1000);
  const cpu = cpuPerMessage(
    cpu0!,
    await cpuSample(kind.name === 'PostgreSQL', edc.proc.pid!, nats.pid),
    n - floor0,
  );
  const rssMb = await peakRssMb(edc.proc.pid!);
  await edc.waitReady();
  const batches = await metric(edc, 'cohort_subscriber_batch_size_count', durable);
  const messages = await metric(edc, 'cohort_subscriber_batch_size_sum', durable);
  const seconds = await metric(edc, 'cohort_subscriber_batch_seconds_sum', durable);
  console.error(
    `  ${batches} batches, ${(messages / batches).toFixed(0)} messages and ${((1000 * seconds) / batches).toFixed(1)} ms each`,
  );
  await edc.stop('SIGTERM');
  await conn.drain();
  await nats.dispose();
  return { rate, rssMb, cpu };
}

/** One phase's result: messages per second, CPU per message, the process's peak RSS. */
interface Measured {
  rate: number;
  cpu: CpuSplit;
  rssMb?: number;
}

/** Medians of the rounds' rates and CPU, and the highest peak RSS. */
function summarize(runs: Measured[]): Measured {
  const cpu = (k: keyof CpuSplit) => median(runs.map((r) => r.cpu[k]));
  return {
    rate: median(runs.map((r) => r.rate)),
    cpu: { client: cpu('client'), database: cpu('database'), nats: cpu('nats') },
    rssMb: Math.max(...runs.map((r) => r.rssMb ?? 0)),
  };
}

const PHASES = ['upsert', 'insert', 'alone', 'half', 'full', 'monitoring'] as const;
type Phase = (typeof PHASES)[number];

async function runPhase(kind: Kind, phase: Phase): Promise<Measured> {
  switch (phase) {
    case 'upsert':
      return rawWrites(kind, BACKLOG, rawWrite(false));
    case 'insert':
      return rawWrites(kind, BACKLOG, rawWrite(true));
    case 'alone':
      return rawWrites(kind, BACKLOG, subscriberWrite);
    case 'half':
      return drain(kind, BACKLOG / 2);
    case 'full':
      return drain(kind, BACKLOG);
    case 'monitoring':
      return drain(kind, BACKLOG, 'monitoring', 'monitoring-diaries');
  }
}

const fmt = (n: number, d = 0) => n.toFixed(d).padStart(10);
/** Service + database CPU: what the raw upsert also pays; NATS is the server's share. */
const ownCpu = (m: Measured) => m.cpu.client + m.cpu.database;
try {
  console.error(
    `bench:projection: backlog ${BACKLOG} (and ${BACKLOG / 2}), ${ROWS_PER_TX} rows per transaction, ${ROUNDS} rounds`,
  );
  for (const kind of kinds) {
    console.error(`${kind.name}: warm-up`);
    await rawWrites(kind, 10_000, rawWrite(false)); // JIT, the database's first pages
  }
  const consumeRuns: Measured[] = [];
  const runs = new Map<string, Measured[]>();
  for (let round = 1; round <= ROUNDS; round++) {
    console.error(`round ${round}/${ROUNDS}: raw consume-and-ack`);
    consumeRuns.push({ rate: await rawConsume(BACKLOG), cpu: { client: 0, database: 0, nats: 0 } });
    for (const kind of kinds) {
      for (const phase of PHASES) {
        console.error(`round ${round}/${ROUNDS}: ${kind.name} ${phase}`);
        const key = `${kind.name} ${phase}`;
        runs.set(key, [...(runs.get(key) ?? []), await runPhase(kind, phase)]);
      }
    }
  }
  const consume = summarize(consumeRuns).rate;
  const result = (kind: Kind, phase: Phase) => summarize(runs.get(`${kind.name} ${phase}`)!);

  const rows: string[] = [];
  const ratios: string[] = [];
  const cpuRows: string[] = [];
  const rssRows: string[] = [];
  // Cores kept busy = CPU seconds per second = total µs per message × messages per second / 1e6.
  const cpuRow = (what: string, m: Measured) => {
    const { client, database, nats } = m.cpu;
    const total = client + database + nats;
    return `${what.padEnd(40)}${fmt(client, 1)}${fmt(database, 1)}${fmt(nats, 1)}${fmt(total, 1)}${fmt((total * m.rate) / 1e6, 2)}`;
  };
  for (const kind of kinds) {
    const [upsert, insert, alone, half, full, monitoring] = PHASES.map((p) => result(kind, p));
    const n = kind.name;
    rows.push(`${`${n} raw batched upsert`.padEnd(40)}${fmt(upsert!.rate)}`);
    rows.push(`${`${n} raw batched insert (no upsert)`.padEnd(40)}${fmt(insert!.rate)}`);
    rows.push(`${`${n} inbox + edc statements, no NATS`.padEnd(40)}${fmt(alone!.rate)}`);
    rows.push(`${`${n} edc drain, ${BACKLOG / 2} backlog`.padEnd(40)}${fmt(half!.rate)}`);
    rows.push(`${`${n} edc drain, ${BACKLOG} backlog`.padEnd(40)}${fmt(full!.rate)}`);
    rows.push(`${`${n} monitoring drain, ${BACKLOG} backlog`.padEnd(40)}${fmt(monitoring!.rate)}`);
    const rate = (m: Measured) => (m.rate / upsert!.rate).toFixed(2);
    ratios.push(`  ${n}: edc drain / raw upsert        ${rate(full!)}   (goal >= 0.60)`);
    ratios.push(`  ${n}: monitoring drain / raw upsert ${rate(monitoring!)}`);
    ratios.push(`  ${n}: edc drain / raw insert        ${(full!.rate / insert!.rate).toFixed(2)}`);
    ratios.push(`  ${n}: edc drain / raw consume+ack   ${(full!.rate / consume).toFixed(2)}`);
    ratios.push(`  ${n}: statements alone / raw upsert ${rate(alone!)}`);
    ratios.push(`  ${n}: edc drain / statements alone  ${(full!.rate / alone!.rate).toFixed(2)}`);
    const cpu = (m: Measured) => (ownCpu(m) / ownCpu(upsert!)).toFixed(2);
    ratios.push(`  ${n}: CPU/msg edc drain / raw upsert        ${cpu(full!)}   (goal <= 2.00)`);
    ratios.push(
      `  ${n}: CPU/msg monitoring drain / raw upsert ${cpu(monitoring!)}   (goal <= 2.00)`,
    );
    cpuRows.push(cpuRow(`${n} raw batched upsert`, upsert!));
    cpuRows.push(cpuRow(`${n} inbox + edc statements, no NATS`, alone!));
    cpuRows.push(cpuRow(`${n} edc drain, ${BACKLOG} backlog`, full!));
    cpuRows.push(cpuRow(`${n} monitoring drain, ${BACKLOG} backlog`, monitoring!));
    rssRows.push(`${`${n} edc, ${BACKLOG / 2} backlog`.padEnd(40)}${fmt(half!.rssMb!, 1)}`);
    rssRows.push(`${`${n} edc, ${BACKLOG} backlog`.padEnd(40)}${fmt(full!.rssMb!, 1)}`);
    rssRows.push(
      `${`${n} monitoring, ${BACKLOG} backlog`.padEnd(40)}${fmt(monitoring!.rssMb!, 1)}`,
    );
  }
  console.log(`\n${`what (medians of ${ROUNDS} rounds)`.padEnd(40)}    msgs/s`);
  console.log(`${'raw consume-and-ack (fetch 500, ack)'.padEnd(40)}${fmt(consume)}`);
  for (const r of rows) console.log(r);
  console.log('\nratios (CPU/msg: the process and its database, NATS server not counted)');
  for (const r of ratios) console.log(r);
  // Where the time goes: with every core busy, rate = cores / total CPU per message.
  console.log(
    `\nCPU per message, microseconds (${cpus().length} cores; PGlite's database is inside the process)`,
  );
  console.log(
    `${''.padEnd(40)}${'bench/svc'.padStart(10)}${'postgres'.padStart(10)}${'nats'.padStart(10)}${'total'.padStart(10)}${'cores'.padStart(10)}`,
  );
  for (const r of cpuRows) console.log(r);
  console.log(`\n${'peak RSS of the service (highest round)'.padEnd(40)}        MB   (goal < 300)`);
  for (const r of rssRows) console.log(r);
  if (!process.env.DATABASE_URL)
    console.log('\nPostgreSQL not measured: set DATABASE_URL to include it.');
} finally {
  await dropSchemas();
}
