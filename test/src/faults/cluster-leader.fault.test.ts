import { NatsCluster } from '@cohort/infra/testing';
import { jetstreamManager, type StreamInfo } from '@nats-io/jetstream';
import { afterAll, expect, it } from 'vitest';
import { expectEdcExact, expectExactlyOnce, requestIdsInStream } from './support/accounting.js';
import { burst, describeBurst } from './support/phones.js';
import { startServices, submissions, type FaultServices } from './support/services.js';

const TRIAL = 'FAULT-LEADER-KILL';
const N = 2_000;
const PHONES = 50;
const PATIENTS = 40;
const REPLICAS = 3;

let cluster: NatsCluster | undefined;
let services: FaultServices | undefined;

afterAll(async () => {
  await services?.stop();
  await cluster?.dispose();
});

/** The members that hold the stream and are caught up with its leader. */
function current(info: StreamInfo): string[] {
  const c = info.cluster;
  if (!c?.leader) return [];
  return [
    c.leader,
    ...(c.replicas ?? []).filter((r) => r.current && !r.offline).map((r) => r.name),
  ];
}

it('the REPORTS leader SIGKILLed mid-burst: every 202 stored once, in REPORTS and the EDC; the member rejoins and catches up', async () => {
  cluster = await NatsCluster.start(REPLICAS);
  services = await startServices(cluster.url, TRIAL, { replicas: REPLICAS });
  const { api, edc, conn } = services;
  const pids = [api.proc.pid, edc.proc.pid];
  const jsm = await jetstreamManager(conn.nc);
  expect((await jsm.streams.info('REPORTS')).config.num_replicas).toBe(REPLICAS);

  const load = burst(() => api.url, submissions(TRIAL, N, PATIENTS), PHONES);
  await load.accepted(N / 3);
  const leader = (await jsm.streams.info('REPORTS')).cluster!.leader!;
  // Asked with a short timeout, so the election is timed within half a second, not five.
  const impatient = await jetstreamManager(conn.nc, { timeout: 500 });
  const killedAt = performance.now();
  await cluster.server(leader).stop('SIGKILL');
  let elected = '';
  await expect
    .poll(
      async () => {
        const info = await impatient.streams.info('REPORTS').catch(() => undefined);
        elected = info?.cluster?.leader ?? '';
        return elected !== '' && elected !== leader;
      },
      { timeout: 30_000, interval: 50 },
    )
    .toBe(true);
  const failoverMs = Math.round(performance.now() - killedAt);
  const stats = await load.done;
  console.info(
    `REPORTS leader ${leader} killed, ${elected} elected after ${failoverMs} ms; ${describeBurst(stats)}`,
  );

  expect(Object.fromEntries(stats.refused)).toEqual({});
  expect(stats.accepted.size).toBe(N);
  expectExactlyOnce('REPORTS', stats.accepted, await requestIdsInStream(conn, 'REPORTS'));
  await expectEdcExact(edc, TRIAL, stats.accepted, conn, PATIENTS);

  await cluster.server(leader).restart();
  await expect
    .poll(async () => current(await jsm.streams.info('REPORTS')).sort(), {
      timeout: 60_000,
      interval: 250,
    })
    .toEqual([...cluster.names].sort());
  const info = await jsm.streams.info('REPORTS');
  expect(info.state.messages).toBe(N);
  expect(info.cluster?.replicas?.find((r) => r.name === leader)?.lag ?? 0).toBe(0);
  expect([api.proc.pid, edc.proc.pid]).toEqual(pids);
  expect([api.proc.exitCode, edc.proc.exitCode]).toEqual([null, null]);
});
