import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeNatsConfig } from '../access/nats-config.js';
import { DEFAULT_NATS_URL } from '../connection.js';
import { dataDirFrom } from '../data-dir.js';
import { topology, topologyOptionsFromEnv } from '../topology.js';
import { UsageError } from './errors.js';
import { whenPlaced } from '../cluster-placement.js';
import { ensureLocalCluster } from './local-cluster.js';
import { ensureLocalNats, type LocalNats } from './local-nats.js';
import { spawnGroup, type ProcessGroup } from './process-group.js';
import { cmdProvision } from './provision.js';

/** The repository root (this file is infra/dist/cli/up.js). */
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * How long the services get to finish their batches and drain after a stop signal before they
 * are killed: a few of the subscriber's batch timeouts.
 */
const SERVICES_STOP_TIMEOUT_MS = 20_000;

/** Credentials in the environment: with a server of its own, each process uses its own user. */
const CREDENTIAL_VARIABLES = ['NATS_USER', 'NATS_PASSWORD', 'NATS_TOKEN'];

/**
 * `cohort up`: finds NATS at NATS_URL and uses it as it is, or starts a local nats-server with
 * the configuration of `cohort nats-config` (written again each time, so the users and their
 * permissions follow the topology; passwords kept), provisions the topology as admin, and runs
 * every service through Turborepo, each as its own NATS user (its env file under
 * `<DATA_DIR>/nats`). Runs until turbo ends or a SIGINT/SIGTERM reaches this process (Ctrl-C,
 * or a supervisor): then stops turbo, every service under it and the nats-server it started,
 * and returns 0. With `--cluster N`: N local nats-servers as one JetStream cluster (see
 * ensureLocalCluster), streams with N replicas (at most 5; COHORT_REPLICAS overrides), and every
 * process given every member's URL.
 */
export async function cmdUp(args: string[], err: (s: string) => void): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { dev: { type: 'boolean' }, cluster: { type: 'string' } },
  });
  const clusterSize = values.cluster === undefined ? undefined : Number(values.cluster);
  if (clusterSize !== undefined && !(Number.isInteger(clusterSize) && clusterSize >= 1)) {
    throw new UsageError(`--cluster takes the number of nats-servers, not ${values.cluster}`);
  }
  let stopSignal: NodeJS.Signals | undefined;
  let services: ProcessGroup | undefined;
  let stopped: Promise<boolean> | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopSignal) return; // already stopping
    stopSignal = signal;
    err(`${signal}: stopping every service`);
    if (services) stopped = services.stop(signal, SERVICES_STOP_TIMEOUT_MS);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const dataDir = dataDirFrom();
    const url = process.env.NATS_URL ?? DEFAULT_NATS_URL;
    // In a cluster every stream gets a replica on each member, up to JetStream's five.
    const replicas =
      process.env.COHORT_REPLICAS ??
      (clusterSize === undefined ? undefined : String(Math.min(clusterSize, 5)));
    const topo = topology(topologyOptionsFromEnv({ ...process.env, COHORT_REPLICAS: replicas }));
    const configure = async (port: number) => {
      const r = await writeNatsConfig({
        dataDir,
        host: '127.0.0.1',
        port,
        topology: topo,
      });
      const fresh = r.users.filter((u) => u.password === 'new').map((u) => u.user);
      err(`wrote ${r.configFile}${fresh.length ? ` (new users: ${fresh.join(', ')})` : ''}`);
      return r.configFile;
    };
    let nats: LocalNats;
    if (clusterSize) {
      const cluster = await ensureLocalCluster(clusterSize, url, dataDir, topo, err);
      err(
        `cluster of ${clusterSize} at ${cluster.url}; a member stopped starts again with ` +
          `nats-server -c <its file>: ${cluster.configFiles.join(', ')}`,
      );
      nats = cluster;
    } else {
      nats = await ensureLocalNats(url, dataDir, err, configure);
    }
    const env: NodeJS.ProcessEnv = { ...process.env, NATS_URL: nats.url, DATA_DIR: dataDir };
    if (replicas) env.COHORT_REPLICAS = replicas;
    if (nats.started) for (const v of CREDENTIAL_VARIABLES) delete env[v];
    try {
      if (!stopSignal) {
        await (clusterSize ? whenPlaced(() => cmdProvision(err, env)) : cmdProvision(err, env));
      }
      if (stopSignal) return 0;
      const task = values.dev ? 'dev' : 'start';
      err(`running every service: turbo run ${task}`);
      // A group of its own: a signal to this process alone (a supervisor's) must reach turbo
      // and the services too, and the terminal's Ctrl-C must not reach them twice.
      services = spawnGroup('npx', ['turbo', 'run', task, '--output-logs=full'], {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'inherit', 'inherit'],
        env,
      });
      const code = await services.exited;
      // Also when turbo ended by itself: nothing it started may outlive it.
      const clean = await (stopped ?? services.stop('SIGTERM', SERVICES_STOP_TIMEOUT_MS));
      if (!clean) err('cohort: some service processes did not exit, even when killed');
      if (stopSignal) return clean ? 0 : 1;
      return code;
    } finally {
      if (nats.started) {
        err(`stopping the nats-server${clusterSize ? 's' : ''} started by cohort up`);
        await nats.stop();
      }
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
