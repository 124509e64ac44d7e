import { type Connection } from '@cohort/infra';
import { connect, provision, topology, trialsIn } from '@cohort/infra/testing';
import { jetstreamManager } from '@nats-io/jetstream';
import { dropSchemas, edcEnv } from '../../support/edc.js';
import { reportBody } from '../../support/reports.js';
import { ServiceProcess } from '../../support/service-process.js';

/** epro-api and edc as processes on one NATS, a trial open for reports, and a test connection. */
export interface FaultServices {
  conn: Connection;
  api: ServiceProcess;
  edc: ServiceProcess;
  stop(): Promise<void>;
}

/**
 * Provisions the topology with `replicas` per stream on the NATS at `natsUrl` (comma-separated
 * for a cluster: every process gets every URL), opens `trialId`, and starts epro-api and edc.
 * `edcExtra` adds to edc's environment (e.g. DATABASE_URL).
 */
export async function startServices(
  natsUrl: string,
  trialId: string,
  opts: { replicas?: number; edcExtra?: Record<string, string> } = {},
): Promise<FaultServices> {
  const conn = await connect({ servers: natsUrl, name: 'fault-test' });
  await provision(conn, await jetstreamManager(conn.nc), topology({ replicas: opts.replicas }));
  await trialsIn(conn, [trialId]);
  const shared: Record<string, string> = { NATS_URL: natsUrl };
  if (opts.replicas) shared.COHORT_REPLICAS = String(opts.replicas);
  const started = await Promise.allSettled([
    ServiceProcess.start('epro-api', shared),
    edcEnv(natsUrl).then((env) =>
      ServiceProcess.start('edc', { ...env, ...shared, ...opts.edcExtra }),
    ),
  ]);
  const stopAll = async () => {
    for (const s of started) if (s.status === 'fulfilled') await s.value.stop('SIGKILL');
    await conn.drain();
    await dropSchemas();
  };
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await stopAll();
    throw failed.reason;
  }
  const [api, edc] = started.map((s) => (s as PromiseFulfilledResult<ServiceProcess>).value);
  return { conn, api: api!, edc: edc!, stop: stopAll };
}

/** `n` distinct submissions to one trial, spread over `patients` patients. */
export function submissions(trialId: string, n: number, patients: number) {
  return Array.from({ length: n }, (_, i) => reportBody(trialId, `P${i % patients}`, i));
}
