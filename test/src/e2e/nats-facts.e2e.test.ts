import { type Connection } from '@cohort/infra';
import { connect, NatsCluster, NatsServer, provision, topology } from '@cohort/infra/testing';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, describe, expect, it } from 'vitest';
import { ServiceProcess } from '../support/service-process.js';

const cleanups: (() => Promise<unknown>)[] = [];

afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

interface Readiness {
  nats: { version: string; clusterSize: number; canSyncEveryWrite: boolean; cluster?: string };
}

/** epro-api as a process on the NATS at `url`, the topology provisioned with `replicas`. */
async function apiOn(url: string, replicas: number): Promise<ServiceProcess> {
  const conn: Connection = await connect({ servers: url, name: 'nats-facts' });
  cleanups.push(() => conn.drain());
  await provision(conn, await jetstreamManager(conn.nc), topology({ replicas }));
  const api = await ServiceProcess.start('epro-api', {
    NATS_URL: url,
    COHORT_REPLICAS: String(replicas),
  });
  cleanups.push(() => api.stop('SIGKILL'));
  return api;
}

async function readiness(api: ServiceProcess): Promise<Readiness> {
  const res = await fetch(`${api.url}/readyz`);
  expect(res.status).toBe(200);
  return (await res.json()) as Readiness;
}

const FSYNC_WARNING = 'cannot fsync every write';

describe('what a service tells of the nats-server it uses', () => {
  it('one server: /readyz gives its version and a cluster of 1; a server before 2.10 is warned about at start', async () => {
    const nats = await NatsServer.start();
    cleanups.push(() => nats.dispose());
    const api = await apiOn(nats.url, 1);
    const { nats: facts } = await readiness(api);
    expect(facts.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(facts.clusterSize).toBe(1);
    expect(facts.cluster).toBeUndefined();
    const [major, minor] = facts.version.split('.').map(Number) as [number, number];
    const before210 = major < 2 || (major === 2 && minor < 10);
    expect(facts.canSyncEveryWrite).toBe(!before210);
    const warnings = api.output
      .join('')
      .split('\n')
      .filter((l) => l.includes(FSYNC_WARNING));
    expect(warnings).toHaveLength(before210 ? 1 : 0);
    if (before210) {
      // Structured: the facts and the replicas as fields, at level warn.
      expect(JSON.parse(warnings[0]!)).toMatchObject({
        level: 40,
        replicas: 1,
        nats: { version: facts.version, clusterSize: 1 },
      });
    }
  });

  it('a cluster of three: /readyz gives its name and size', async () => {
    const cluster = await NatsCluster.start(3);
    cleanups.push(() => cluster.dispose());
    const api = await apiOn(cluster.url, 3);
    const { nats: facts } = await readiness(api);
    expect(facts).toMatchObject({ cluster: 'cohort', clusterSize: 3 });
  });
});
