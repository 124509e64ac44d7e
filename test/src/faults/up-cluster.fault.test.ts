import { spawn, type ChildProcess } from 'node:child_process';
import { basename } from 'node:path';
import { type Connection } from '@cohort/infra';
import { connect, freePort, readCredentialsFile, trialsIn } from '@cohort/infra/testing';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, expect, it } from 'vitest';
import {
  expectEdcExact,
  expectExactlyOnce,
  requestIdsInStream,
} from './support/accounting.js';
import { burst, describeBurst } from './support/phones.js';
import { submissions } from './support/services.js';
import {
  assertFree,
  cohortUp,
  disposeUp,
  processExists,
  READY_TIMEOUT_MS,
  servicesReady,
  SERVICE_PORTS,
  STOP_TIMEOUT_MS,
  stopUp,
  type Up,
} from '../support/cohort-up.js';
import { as, identity } from '../support/identity.js';

const MEMBERS = 3;
/** cohort up routes each member on its client port + 2000 (ROUTE_PORT_OFFSET). */
const ROUTE_PORT_OFFSET = 2000;
const TRIAL = 'UP-CLUSTER';
const N = 600;
const PATIENTS = 20;
const api = `http://127.0.0.1:${SERVICE_PORTS['epro-api']}`;
const edc = { url: `http://127.0.0.1:${SERVICE_PORTS.edc}` };

let up: Up | undefined;
let conn: Connection | undefined;
let rejoined: ChildProcess | undefined;

afterAll(async () => {
  await conn?.drain();
  if (up) await disposeUp(up);
  rejoined?.kill('SIGTERM');
}, STOP_TIMEOUT_MS + 10_000);

/** A client port whose members' client and route ports are all free. */
async function clusterPort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port + MEMBERS + ROUTE_PORT_OFFSET > 65_535) continue;
    const ports = Array.from({ length: MEMBERS }, (_, i) => [
      port + i,
      port + i + ROUTE_PORT_OFFSET,
    ]);
    const free = await Promise.all(
      ports.flat().map((p) =>
        assertFree(p, 'cluster').then(
          () => true,
          () => false,
        ),
      ),
    );
    if (free.every(Boolean)) return port;
  }
}

it(
  'cohort up --cluster 3: three nats-servers, three replicas, and nothing lost when the REPORTS leader is killed -9',
  async () => {
    up = await cohortUp(['--cluster', String(MEMBERS)], identity.env, await clusterPort());
    await servicesReady(up);
    // Each member's store directory (nats-<n>) and pid, as cohort up reports them.
    const pids = new Map(
      [...up.output().matchAll(/started nats-server .*store (\S+), pid (\d+)\)/g)].map((m) => [
        basename(m[1]!),
        Number(m[2]),
      ]),
    );
    expect([...pids.keys()].sort(), up.output()).toEqual(['nats-1', 'nats-2', 'nats-3']);
    const configOf = (name: string) => `${up!.dataDir}/${name}/nats-server.conf`;
    expect(up.output()).toContain(configOf('nats-3'));

    const urls = Array.from({ length: MEMBERS }, (_, i) => `nats://127.0.0.1:${up!.natsPort + i}`);
    const admin = readCredentialsFile(up.dataDir, 'admin')!;
    conn = await connect({
      servers: urls.join(','),
      name: 'up-cluster',
      user: admin.user,
      pass: admin.pass,
    });
    const jsm = await jetstreamManager(conn.nc);
    const before = await jsm.streams.info('REPORTS');
    expect(before.config.num_replicas).toBe(MEMBERS);
    expect(before.cluster?.replicas).toHaveLength(MEMBERS - 1);

    // The trial as project-management stores it, as its NATS user (admin may not publish).
    const pm = readCredentialsFile(up.dataDir, 'project-management')!;
    const pmConn = await connect({
      servers: urls.join(','),
      name: 'up-cluster-pm',
      user: pm.user,
      pass: pm.pass,
    });
    await trialsIn(pmConn, [TRIAL]);
    await pmConn.drain();
    const bodies = submissions(TRIAL, N, PATIENTS);
    // epro-api learns of the trial from PROJECTS: resend the first until it is accepted.
    await expect
      .poll(
        async () => {
          const r = await fetch(`${api}/v1/reports`, {
            method: 'POST',
            headers: { ...as.gateway, 'content-type': 'application/json' },
            body: JSON.stringify(bodies[0]),
          });
          return r.status;
        },
        { timeout: 30_000 },
      )
      .toBe(202);

    const load = burst(() => api, bodies, 20);
    await load.accepted(N / 3);
    const leader = (await jsm.streams.info('REPORTS')).cluster!.leader!;
    process.kill(pids.get(leader)!, 'SIGKILL');
    const stats = await load.done;
    console.info(`cohort up --cluster, ${leader} killed -9: ${describeBurst(stats)}`);
    expect(Object.fromEntries(stats.refused)).toEqual({});
    expect(stats.accepted.size).toBe(N);
    // Read as epro-api, which reads REPORTS message by message (admin may not).
    const ingest = readCredentialsFile(up.dataDir, 'epro-api')!;
    const reader = await connect({
      servers: urls.join(','),
      name: 'up-cluster-reader',
      user: ingest.user,
      pass: ingest.pass,
    });
    const stored = await requestIdsInStream(conn, 'REPORTS', reader);
    await reader.drain();
    expectExactlyOnce('REPORTS', stats.accepted, stored);
    await expectEdcExact(edc, TRIAL, stats.accepted, conn, PATIENTS);
    await servicesReady(up);

    // Started again as the README says, it rejoins and catches up.
    rejoined = spawn('nats-server', ['-c', configOf(leader)], { stdio: 'ignore' });
    await expect
      .poll(
        async () => {
          const info = await jsm.streams.info('REPORTS');
          return (info.cluster?.replicas ?? []).filter((r) => r.current && !r.offline).length;
        },
        { timeout: 60_000, interval: 250 },
      )
      .toBe(MEMBERS - 1);

    await conn.drain();
    conn = undefined;
    const exited = await stopUp(up);
    expect(exited, up.output()).toEqual({ code: 0, signal: null });
    for (const [name, pid] of pids) {
      if (name !== leader) expect(processExists(pid), `${name} still runs`).toBe(false);
    }
  },
  READY_TIMEOUT_MS + STOP_TIMEOUT_MS + 120_000,
);
