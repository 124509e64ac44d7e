import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager, StorageType } from '@nats-io/jetstream';
import { clusterOf } from '../access/cluster.js';
import { renderServerConfig } from '../access/server-config.js';
import { whenPlaced } from '../cluster-placement.js';
import { connect } from '../connection.js';
import { freePort } from './free-port.js';
import { NatsServer } from './nats-server.js';

/** The stream the harness makes and removes to learn that the cluster can place streams. */
const PLACEMENT_PROBE = 'HARNESS_PLACEMENT_PROBE';

/**
 * A real JetStream cluster for one test file: `size` nats-server processes on 127.0.0.1, routed
 * to each other, each with a temporary store, named `nats-1` … `nats-<size>` (the names stream
 * info gives for leader and replicas). The configuration is the one `cohort up --cluster`
 * writes, without users. Each member is a NatsServer: kill one with `stop('SIGKILL')` and
 * bring it back on its port and store with `restart()`.
 */
export class NatsCluster {
  private constructor(
    readonly servers: NatsServer[],
    readonly names: string[],
    readonly dir: string,
  ) {}

  static async start(size = 3): Promise<NatsCluster> {
    const dir = await mkdtemp(join(tmpdir(), 'cohort-cluster-'));
    const members = await Promise.all(
      Array.from({ length: size }, async () => ({ clusterPort: await freePort() })),
    );
    const routes = clusterOf(members, '127.0.0.1');
    const names = members.map((_, i) => `nats-${i + 1}`);
    const files = await Promise.all(
      names.map(async (name, i) => {
        const storeDir = join(dir, name);
        await mkdir(storeDir, { recursive: true });
        const file = join(storeDir, 'nats-server.conf');
        // The client port in the file is a placeholder: the harness picks a free one.
        const text = renderServerConfig({
          host: '127.0.0.1',
          port: 4222,
          storeDir,
          users: [],
          serverName: name,
          cluster: routes[i],
        });
        await writeFile(file, text);
        return { file, storeDir };
      }),
    );
    const started = await Promise.allSettled(
      files.map((f) => NatsServer.startWithConfig(f.file, f.storeDir)),
    );
    const servers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const cluster = new NatsCluster(servers, names, dir);
    const failed = started.find((s) => s.status === 'rejected');
    try {
      if (failed) throw failed.reason;
      await cluster.jetStreamReady();
    } catch (e) {
      await cluster.dispose();
      throw e;
    }
    return cluster;
  }

  /** Every member's client URL, comma-separated: NATS_URL of a process that uses the cluster. */
  get url(): string {
    return this.servers.map((s) => s.url).join(',');
  }

  /** The member that stream info calls `name`. */
  server(name: string): NatsServer {
    const s = this.servers[this.names.indexOf(name)];
    if (!s) throw new Error(`no member ${name} in ${this.names.join(', ')}`);
    return s;
  }

  /**
   * Resolves once the cluster can place a stream on every member: it has elected a meta leader
   * and its members have met (a test stream of `size` replicas, in memory, is made and removed).
   */
  async jetStreamReady(): Promise<void> {
    const conn = await connect({ servers: this.url, name: 'cluster-harness' });
    try {
      await whenPlaced(async () => {
        const jsm = await jetstreamManager(conn.nc);
        await jsm.streams.add({
          name: PLACEMENT_PROBE,
          subjects: [`${PLACEMENT_PROBE}.probe`],
          num_replicas: this.servers.length,
          storage: StorageType.Memory,
        });
        await jsm.streams.delete(PLACEMENT_PROBE);
      });
    } finally {
      await conn.drain();
    }
  }

  /** Stops every member and removes their files. */
  async dispose(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.dispose()));
    await rm(this.dir, { recursive: true, force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}
