// bench:projection — compares, in one run on one machine, for PGlite and (when DATABASE_URL is
// set) PostgreSQL:
//   1. the raw batched upsert rate into the EDC table (500 rows per transaction, nothing else),
//      and the same rows as plain inserts;
//   2. the raw consume-and-ack rate of a durable pull consumer over the same backlog;
//   3. the EDC projection's drain rate: the real edc process working off a pre-filled backlog
//      (inbox rows, summaries, commit, ack), and its peak RSS at two backlog sizes; and the
//      monitoring process's over the same backlog (diary entries, each checked against a rule);
//   4. the subscriber's database work alone, without NATS: inbox rows and the EDC statement;
//   5. where the CPU went, per message, and how many cores that kept busy (from /proc, on Linux).
// BENCH_BACKLOG (default 100000) sets the larger backlog; the smaller one is half of it.
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { newEventId, protocolSubject, reportSubject, type ReportsEvent } from '@cohort/contracts';
import { caseReports, migrations as edcMigrations } from '@cohort/edc/case-reports';
import {
  JetStreamEventStore,
  Publisher,
  type Connection,
  type Envelope,
  type Sql,
} from '@cohort/infra';
import {
  connect,
  INBOX_MIGRATIONS,
  insertInbox,
  openStore,
  provision,
  topology,
  type SqlStore,
  NatsServer,
  reportSubmitted,
  trialsIn,
} from '@cohort/infra/testing';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { dropSchemas, edcEnv, metric, newSchema } from '../support/edc.js';
import { ServiceProcess } from '../support/service-process.js';

const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 100_000);
/** Rows per transaction in the raw upsert, the same as the subscriber's default batch. */
const ROWS_PER_TX = 500;
const PATIENTS = 1_000;
const enc = new TextEncoder();
/** Linux's USER_HZ: /proc reports CPU time in these ticks. */
const CLOCK_TICKS = 100;

interface Kind {
  name: 'PGlite' | 'PostgreSQL';
  open(): Promise<SqlStore>;
  env(natsUrl: string): Promise<Record<string, string>>;
}

const kinds: Kind[] = [
  {
    name: 'PGlite',
    // A data directory, as the service has: the raw upsert writes to the same kind of database.
    open: async () =>
      openStore({ service: 'bench', dataDir: await mkdtemp(join(tmpdir(), 'cohort-bench-')) }),
    env: async (natsUrl) => ({
      NATS_URL: natsUrl,
      DATA_DIR: await mkdtemp(join(tmpdir(), 'cohort-bench-')),
      DATABASE_URL: '', // PGlite even when DATABASE_URL is set for the PostgreSQL run
    }),
  },
];
if (process.env.DATABASE_URL) {
  const url = process.env.DATABASE_URL;
  kinds.push({
    name: 'PostgreSQL',
    open: () => openStore({ service: 'bench', databaseUrl: url, schema: newSchema() }),
    env: async (natsUrl) => {
      // Production defaults: no shortened ack wait or backoff.
      const env = await edcEnv(natsUrl);
      delete env.SUBSCRIBER_ACK_WAIT_MS;
      delete env.SUBSCRIBER_BACKOFF_MS;
      return env;
    },
  });
}

function events(n: number) {
  return Array.from({ length: n }, (_, i) =>
    reportSubmitted({ trialId: 'BENCH', patientId: `P${i % PATIENTS}` }),
  );
}

type Report = ReturnType<typeof events>[number];

/** One transaction's work on a chunk of reports whose stream sequences start at `seq`. */
type Write = (tx: Sql, chunk: Report[], seq: number) => Promise<unknown>;

/**
 * Raw upsert: the EDC table's own INSERT … ON CONFLICT, nothing more. With `plain`, the same rows
 * without ON CONFLICT (as the projection inserts, its inbox having skipped what was applied
 * before).
 */
const rawWrite =
  (plain: boolean): Write =>
  (tx, chunk, seq) => {
    const col = (f: (e: Report) => unknown) => chunk.map(f);
    return tx.query(
      `INSERT INTO case_reports (event_id, request_id, trial_id, patient_id, questionnaire_id,
         questionnaire_version, answers, completed_at, recorded_at, stream_seq, site_id,
         platform, app_version)
       SELECT e, r, t, p, q, v, a::jsonb, c, rc, s, site, pf, av
       FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                   $8::timestamptz[], $9::timestamptz[], $10::bigint[], $11::text[], $12::text[],
                   $13::text[]) AS x(e, r, t, p, q, v, a, c, rc, s, site, pf, av)
       ${plain ? '' : 'ON CONFLICT DO NOTHING'}`,
      [
        col((e) => e.id),
        col((e) => e.data.requestId),
        col((e) => e.data.trialId),
        col((e) => e.data.patientId),
        col((e) => e.data.questionnaire.id),
        col((e) => e.data.questionnaire.version),
        col((e) => JSON.stringify(e.data.answers)),
        col((e) => e.data.completedAt),
        col((e) => e.recordedAt),
        chunk.map((_, j) => seq + j),
        col((e) => e.data.siteId),
        col((e) => e.data.device?.platform ?? null),
        col((e) => e.data.device?.appVersion ?? null),
      ],
    );
  };

/**
 * The subscriber's database work alone, without NATS: the inbox rows and the EDC projection's
 * batch statement, as one transaction per chunk. The drain cannot go faster than this.
 */
const subscriberWrite: Write = async (tx, chunk, seq) => {
  const items: Envelope<ReportsEvent>[] = chunk.map((event, j) => ({
    event,
    meta: { stream: 'REPORTS', seq: seq + j, subject: 'bench', deliveries: 1 },
  }));
  const claimed = insertInbox(
    tx,
    caseReports.consumer.name,
    items.map((i) => caseReports.key!(i.event)),
    items.map((i) => i.meta.seq),
  );
  await Promise.all([claimed, caseReports.applyBatch!(tx, items)]);
};

/** Writes `n` reports, ROWS_PER_TX per transaction, through the same store the service uses. */
async function rawWrites(
  kind: Kind,
  n: number,
  write: Write,
): Promise<{ rate: number; cpu: CpuSplit }> {
  const store = await kind.open();
  await store.migrate('cohort', INBOX_MIGRATIONS);
  await store.migrate('bench', edcMigrations);
  const all = events(n);
  const cpu0 = await cpuSample(kind, process.pid);
  const start = performance.now();
  for (let i = 0; i < n; i += ROWS_PER_TX) {
    const chunk = all.slice(i, i + ROWS_PER_TX);
    await store.transaction((tx) => write(tx, chunk, i + 1));
  }
  const rate = n / ((performance.now() - start) / 1000);
  const cpu = cpuPerMessage(cpu0, await cpuSample(kind, process.pid), n);
  await store.close();
  return { rate, cpu };
}

async function fillBacklog(nats: NatsServer, n: number) {
  const conn = await connect({ servers: nats.url, name: 'bench-fill' });
  await provision(conn, await jetstreamManager(conn.nc), topology());
  await benchTrial(conn);
  const p = new Publisher(conn);
  const inFlight: Promise<unknown>[] = [];
  for (const e of events(n)) {
    inFlight.push(
      p.publish(reportSubject(e.data.trialId, e.data.patientId), enc.encode(JSON.stringify(e)), {
        msgId: e.id,
      }),
    );
    if (inFlight.length >= 1_000) await Promise.all(inFlight.splice(0));
  }
  await Promise.all(inFlight);
  return conn;
}

/**
 * The backlog's trial in PROJECTS, active, with a safety rule on the item every report answers
 * (a threshold no answer meets): monitoring checks each report against it, as it would in a
 * trial, and raises nothing. The other subscribers ignore these events.
 */
async function benchTrial(conn: Connection) {
  await trialsIn(conn, ['BENCH']);
  const store = await JetStreamEventStore.open(conn, 'PROJECTS', protocolSubject);
  const now = new Date().toISOString();
  await store.append(
    'BENCH',
    [
      {
        id: newEventId(),
        type: 'SafetyRuleSet',
        version: 1,
        occurredAt: now,
        recordedAt: now,
        source: 'bench',
        actor: { id: 'bench', role: 'sponsor' },
        reason: 'bench',
        correlationId: 'bench',
        causationId: 'bench',
        data: {
          projectId: 'BENCH',
          rule: {
            ruleId: 'never',
            questionnaireId: 'Q',
            itemId: 'a',
            condition: { kind: 'at-least', value: 1_000 },
            severity: 'low',
            acknowledgeWithinMinutes: 60,
          },
        },
      },
    ],
    0,
  );
}

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

/** CPU seconds (user + system) a process has used so far, from /proc; 0 where unreadable. */
async function cpuSeconds(pid: number | undefined): Promise<number> {
  if (pid === undefined) return 0;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** CPU seconds of every process named `postgres` on this machine (server, backends, writers). */
async function postgresCpuSeconds(): Promise<number> {
  let total = 0;
  for (const pid of await readdir('/proc').catch(() => [])) {
    if (!/^\d+$/.test(pid)) continue;
    const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
    if (comm.trim() === 'postgres') total += await cpuSeconds(Number(pid));
  }
  return total;
}

/** Where the CPU of one phase went, in microseconds per message or row. */
interface CpuSplit {
  client: number;
  database: number;
  nats: number;
}

async function cpuSample(kind: Kind, clientPid: number, natsPid?: number) {
  return {
    client: await cpuSeconds(clientPid),
    database: kind.name === 'PostgreSQL' ? await postgresCpuSeconds() : 0,
    nats: await cpuSeconds(natsPid),
  };
}

function cpuPerMessage(a: CpuSplit, b: CpuSplit, n: number): CpuSplit {
  const us = (k: keyof CpuSplit) => ((b[k] - a[k]) * 1e6) / n;
  return { client: us('client'), database: us('database'), nats: us('nats') };
}

async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
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
      cpu0 = await cpuSample(kind, edc.proc.pid!, nats.pid);
    }
  }
  const rate = (n - floor0) / ((performance.now() - t0) / 1000);
  const cpu = cpuPerMessage(cpu0!, await cpuSample(kind, edc.proc.pid!, nats.pid), n - floor0);
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

const fmt = (n: number, d = 0) => n.toFixed(d).padStart(10);
try {
  console.error(
    `bench:projection: backlog ${BACKLOG} (and ${BACKLOG / 2}), ${ROWS_PER_TX} rows per transaction`,
  );
  console.error('raw consume-and-ack');
  const consume = await rawConsume(BACKLOG);
  const rows: string[] = [];
  const ratios: string[] = [];
  const cpuRows: string[] = [];
  // Cores kept busy = CPU seconds per second = total µs per message × messages per second / 1e6.
  const cpuRow = (what: string, { rate, cpu: c }: { rate: number; cpu: CpuSplit }) => {
    const total = c.client + c.database + c.nats;
    return `${what.padEnd(40)}${fmt(c.client, 1)}${fmt(c.database, 1)}${fmt(c.nats, 1)}${fmt(total, 1)}${fmt((total * rate) / 1e6, 2)}`;
  };
  for (const kind of kinds) {
    console.error(`${kind.name}: raw upsert`);
    await rawWrites(kind, 10_000, rawWrite(false)); // warm-up: JIT, the database's first pages
    const upsert = await rawWrites(kind, BACKLOG, rawWrite(false));
    const insert = await rawWrites(kind, BACKLOG, rawWrite(true));
    console.error(`${kind.name}: the subscriber's statements alone`);
    const alone = await rawWrites(kind, BACKLOG, subscriberWrite);
    console.error(`${kind.name}: edc drain of ${BACKLOG / 2}`);
    const half = await drain(kind, BACKLOG / 2);
    console.error(`${kind.name}: edc drain of ${BACKLOG}`);
    const full = await drain(kind, BACKLOG);
    console.error(`${kind.name}: monitoring drain of ${BACKLOG}`);
    const monitoring = await drain(kind, BACKLOG, 'monitoring', 'monitoring-diaries');
    rows.push(`${`${kind.name} raw batched upsert`.padEnd(40)}${fmt(upsert.rate)}`);
    rows.push(`${`${kind.name} raw batched insert (no upsert)`.padEnd(40)}${fmt(insert.rate)}`);
    rows.push(`${`${kind.name} inbox + edc statements, no NATS`.padEnd(40)}${fmt(alone.rate)}`);
    rows.push(
      `${`${kind.name} edc drain, ${BACKLOG / 2} backlog`.padEnd(40)}${fmt(half.rate)}${fmt(half.rssMb, 1)}`,
    );
    rows.push(
      `${`${kind.name} edc drain, ${BACKLOG} backlog`.padEnd(40)}${fmt(full.rate)}${fmt(full.rssMb, 1)}`,
    );
    rows.push(
      `${`${kind.name} monitoring drain, ${BACKLOG} backlog`.padEnd(40)}${fmt(monitoring.rate)}${fmt(monitoring.rssMb, 1)}`,
    );
    ratios.push(
      `  ${kind.name}: edc drain / raw upsert        ${(full.rate / upsert.rate).toFixed(2)}   (goal >= 0.60)`,
    );
    ratios.push(
      `  ${kind.name}: monitoring drain / raw upsert ${(monitoring.rate / upsert.rate).toFixed(2)}`,
    );
    ratios.push(
      `  ${kind.name}: edc drain / raw insert        ${(full.rate / insert.rate).toFixed(2)}`,
    );
    ratios.push(
      `  ${kind.name}: edc drain / raw consume+ack   ${(full.rate / consume).toFixed(2)}`,
    );
    ratios.push(
      `  ${kind.name}: statements alone / raw upsert ${(alone.rate / upsert.rate).toFixed(2)}`,
    );
    ratios.push(
      `  ${kind.name}: edc drain / statements alone  ${(full.rate / alone.rate).toFixed(2)}`,
    );
    ratios.push(
      `  ${kind.name}: peak RSS ${BACKLOG} / ${BACKLOG / 2} backlog   ${(full.rssMb / half.rssMb).toFixed(2)}   (goal: ~1, flat)`,
    );
    cpuRows.push(cpuRow(`${kind.name} raw batched upsert`, upsert));
    cpuRows.push(cpuRow(`${kind.name} inbox + edc statements, no NATS`, alone));
    cpuRows.push(cpuRow(`${kind.name} edc drain, ${BACKLOG} backlog`, full));
    cpuRows.push(cpuRow(`${kind.name} monitoring drain, ${BACKLOG} backlog`, monitoring));
  }
  console.log(`\n${'what'.padEnd(40)}    msgs/s   peak RSS MB`);
  console.log(`${'raw consume-and-ack (fetch 500, ack)'.padEnd(40)}${fmt(consume)}`);
  for (const r of rows) console.log(r);
  console.log('\nratios');
  for (const r of ratios) console.log(r);
  // Where the time goes: with every core busy, rate = cores / total CPU per message.
  console.log(
    `\nCPU per message, microseconds (${cpus().length} cores; PGlite's database is inside the process)`,
  );
  console.log(
    `${''.padEnd(40)}${'bench/edc'.padStart(10)}${'postgres'.padStart(10)}${'nats'.padStart(10)}${'total'.padStart(10)}${'cores'.padStart(10)}`,
  );
  for (const r of cpuRows) console.log(r);
  if (!process.env.DATABASE_URL)
    console.log('\nPostgreSQL not measured: set DATABASE_URL to include it.');
} finally {
  await dropSchemas();
}
