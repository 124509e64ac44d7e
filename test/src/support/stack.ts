import { Streams } from '@cohort/contracts';
import { type Connection } from '@cohort/infra';
import { connect, provision, topology, NatsServer } from '@cohort/infra/testing';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { dropSchemas, edcEnv } from './edc.js';
import { ServiceProcess } from './service-process.js';

/** Messages in each event stream: what the services have stored. */
export interface StoredCounts {
  REPORTS: number;
  PROJECTS: number;
}

/**
 * A NATS server and the three HTTP services as real processes (epro-api, project-management,
 * edc), each trusting the test run's identity provider, plus a connection for the test to
 * look at the streams.
 */
export class Stack {
  private constructor(
    readonly nats: NatsServer,
    readonly conn: Connection,
    readonly jsm: JetStreamManager,
    readonly api: ServiceProcess,
    readonly pm: ServiceProcess,
    readonly edc: ServiceProcess,
  ) {}

  static async start(name: string): Promise<Stack> {
    const nats = await NatsServer.start();
    const conn = await connect({ servers: nats.url, name });
    const jsm = await jetstreamManager(conn.nc);
    await provision(conn, jsm, topology());
    const started = await Promise.allSettled([
      ServiceProcess.start('epro-api', { NATS_URL: nats.url }),
      edcEnv(nats.url).then((env) => ServiceProcess.start('project-management', env)),
      edcEnv(nats.url).then((env) => ServiceProcess.start('edc', env)),
    ]);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) {
      // No process outlives a start that failed half-way.
      for (const s of started) if (s.status === 'fulfilled') await s.value.stop('SIGKILL');
      await conn.drain();
      await nats.dispose();
      throw failed.reason;
    }
    const [api, pm, edc] = started.map((s) => (s as PromiseFulfilledResult<ServiceProcess>).value);
    return new Stack(nats, conn, jsm, api!, pm!, edc!);
  }

  /** Every service by name. */
  get services(): ServiceProcess[] {
    return [this.api, this.pm, this.edc];
  }

  async counts(): Promise<StoredCounts> {
    const [reports, projects] = await Promise.all([
      this.jsm.streams.info(Streams.REPORTS.name),
      this.jsm.streams.info(Streams.PROJECTS.name),
    ]);
    return { REPORTS: reports.state.messages, PROJECTS: projects.state.messages };
  }

  async stop(): Promise<void> {
    await Promise.all(this.services.map((s) => s.stop()));
    await this.conn.drain();
    await this.nats.dispose();
    await dropSchemas();
  }
}
