// bench:rebuild — compares, in one run on one machine (PGlite, in memory), how long a rebuild
// of EDC's case reports takes over a backlog with how long live delivery took to apply the
// same backlog: the same applyBatch and inbox, read through an ordered consumer into a shadow
// schema and swapped in, against the durable pull loop with its acks. Medians of BENCH_ROUNDS
// (default 3) rounds of BENCH_BACKLOG (default 20000) reports, each round on a fresh store.
import { reportSubject, type ReportsEvent } from '@cohort/contracts';
import { caseReports } from '@cohort/edc/case-reports';
import { Publisher, type Projection } from '@cohort/infra';
import {
  Rebuild,
  connect,
  createLogger,
  NatsServer,
  openStore,
  provision,
  reportSubmitted,
  Subscriber,
  SubscriberMetrics,
  topology,
} from '@cohort/infra/testing';
import { jetstreamManager } from '@nats-io/jetstream';
import { Registry } from 'prom-client';

const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PATIENTS = 500;
const enc = new TextEncoder();
const log = createLogger('bench-rebuild');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const nats = await NatsServer.start();
const conn = await connect({ servers: nats.url, name: 'bench-rebuild' });
const jsm = await jetstreamManager(conn.nc);
await provision(conn, jsm, topology());
const publisher = new Publisher(conn);
const TRIAL = 'BENCH-REBUILD';
for (let i = 0; i < BACKLOG; i += 1_000) {
  await Promise.all(
    Array.from({ length: Math.min(1_000, BACKLOG - i) }, (_, j) => {
      const e = reportSubmitted({ trialId: TRIAL, patientId: `P${(i + j) % PATIENTS}` });
      return publisher.publish(
        reportSubject(TRIAL, e.data.patientId),
        enc.encode(JSON.stringify(e)),
        {
          msgId: e.id,
        },
      );
    }),
  );
}

const live: number[] = [];
const rebuilt: number[] = [];
for (let round = 1; round <= ROUNDS; round++) {
  const store = await openStore({ service: 'bench' });
  const projection = {
    ...caseReports,
    consumer: { ...caseReports.consumer, name: `bench-case-reports-${round}` },
  } as Projection<ReportsEvent> as Projection;
  const sub = new Subscriber(conn, store, projection, new SubscriberMetrics(new Registry()), log);
  let t = performance.now();
  await sub.start();
  for (;;) {
    const info = await jsm.consumers.info('REPORTS', projection.consumer.name);
    if (info.num_pending + info.num_ack_pending === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  live.push(performance.now() - t);
  t = performance.now();
  const job = await Rebuild.start(
    { conn, store, projection, log },
    { actor: { id: 'bench', role: 'ops' }, reason: 'bench', onFailure: 'stop' },
  );
  const done = await job.done;
  rebuilt.push(performance.now() - t);
  if (done.status !== 'swapped' || done.applied !== BACKLOG) {
    throw new Error(`round ${round}: ${JSON.stringify(done)}`);
  }
  await sub.stop();
  await store.close();
  console.log(
    `round ${round}: live ${live.at(-1)!.toFixed(0)} ms, rebuild ${rebuilt.at(-1)!.toFixed(0)} ms`,
  );
}

const rate = (ms: number) => ((BACKLOG / ms) * 1000).toFixed(0);
console.log(
  `\n${BACKLOG} case reports, PGlite in memory, median of ${ROUNDS} rounds:\n` +
    `  live delivery (durable pull, apply, ack)      ${median(live).toFixed(0)} ms  (${rate(median(live))}/s)  baseline\n` +
    `  rebuild (ordered read, apply, swap)           ${median(rebuilt).toFixed(0)} ms  (${rate(median(rebuilt))}/s)  ` +
    `${(median(rebuilt) / median(live)).toFixed(2)}x the baseline's time`,
);
await conn.drain();
await nats.dispose();
