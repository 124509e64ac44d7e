import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { jetstreamManager } from '@nats-io/jetstream';
import { ConnectionError } from '@nats-io/transport-node';
import { connect, DEFAULT_NATS_URL, natsOptionsFromEnv } from '../connection.js';
import { provision, topology, topologyOptionsFromEnv } from '../topology.js';
import { DeadLetterConflictError, DeadLetterNotFoundError } from '../deadletters/desk.js';
import { dlq, DLQ_USAGE } from './dlq.js';
import { UsageError } from './errors.js';
import { DEFAULT_DATA_DIR } from '../store/sql-store.js';
import { ensureLocalNats } from './local-nats.js';
import { spawnGroup, type ProcessGroup } from './process-group.js';
import { NotAllowed } from './identity.js';
import { seed } from './seed.js';
import { token, TOKEN_USAGE } from './token.js';

/** The repository root (this file is infra/dist/cli/main.js). */
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const USAGE = `cohort — operate a Cohort installation

Usage:
  cohort up [--dev]     find or start NATS, provision, run every service (Turborepo)
  cohort provision      create or update streams and buckets (idempotent)
  cohort dlq …          the dead-letter desk: list, show, redrive, discard (cohort dlq help)
  cohort token …        print a development token (cohort token --sub ID --role ROLE --trial T)
  cohort seed           create and activate demo trials through project-management
  cohort help           this text

Environment: NATS_URL (default ${DEFAULT_NATS_URL}), DATA_DIR (default <repo>/.data),
COHORT_DUPLICATE_WINDOW_MS, COHORT_REPORTS_MAX_BYTES, COHORT_REPLICAS,
PROJECT_MANAGEMENT_URL (for seed; default http://127.0.0.1:3002).
Exit codes: 0 done, 1 failed, 2 bad arguments, 3 not found, 4 conflict, 5 no valid token for it.`;

const err = (s: string) => process.stderr.write(`${s}\n`);

async function cmdProvision(): Promise<number> {
  const conn = await connect({ ...natsOptionsFromEnv('cohort-cli'), waitOnFirstConnect: false });
  try {
    const jsm = await jetstreamManager(conn.nc);
    for (const a of await provision(conn, jsm, topology(topologyOptionsFromEnv()))) {
      console.log(`${a.action.padEnd(9)} ${a.resource}`);
    }
    return 0;
  } finally {
    await conn.drain();
  }
}

/**
 * How long the services get to finish their batches and drain after a stop signal before they
 * are killed: a few of the subscriber's batch timeouts.
 */
const SERVICES_STOP_TIMEOUT_MS = 20_000;

/**
 * Runs every service until turbo ends or a SIGINT/SIGTERM reaches this process (Ctrl-C, or a
 * supervisor): then stops turbo, every service under it and the nats-server it started, and
 * returns 0.
 */
async function cmdUp(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { dev: { type: 'boolean' } } });
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
    const dataDir = process.env.DATA_DIR || DEFAULT_DATA_DIR;
    const nats = await ensureLocalNats(process.env.NATS_URL ?? DEFAULT_NATS_URL, dataDir, err);
    process.env.NATS_URL = nats.url;
    process.env.DATA_DIR = dataDir;
    try {
      if (!stopSignal) await cmdProvision();
      if (stopSignal) return 0;
      const task = values.dev ? 'dev' : 'start';
      err(`running every service: turbo run ${task}`);
      // A group of its own: a signal to this process alone (a supervisor's) must reach turbo
      // and the services too, and the terminal's Ctrl-C must not reach them twice.
      services = spawnGroup('npx', ['turbo', 'run', task, '--output-logs=full'], {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'inherit', 'inherit'],
        env: process.env,
      });
      const code = await services.exited;
      // Also when turbo ended by itself: nothing it started may outlive it.
      const clean = await (stopped ?? services.stop('SIGTERM', SERVICES_STOP_TIMEOUT_MS));
      if (!clean) err('cohort: some service processes did not exit, even when killed');
      if (stopSignal) return clean ? 0 : 1;
      return code;
    } finally {
      if (nats.started) {
        err('stopping the nats-server started by cohort up');
        await nats.stop();
      }
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'up':
        return await cmdUp(rest);
      case 'provision':
        return await cmdProvision();
      case 'dlq':
        return await dlq(rest);
      case 'token':
        return await token(rest);
      case 'seed':
        return await seed(process.env.PROJECT_MANAGEMENT_URL ?? 'http://127.0.0.1:3002', (s) =>
          console.log(s),
        );
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(USAGE);
        return cmd === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command: ${cmd}`);
    }
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      const usage = cmd === 'dlq' ? DLQ_USAGE : cmd === 'token' ? TOKEN_USAGE : USAGE;
      err(`cohort: ${(e as Error).message}\n\n${usage}`);
      return 2;
    }
    if (e instanceof NotAllowed) {
      err(`cohort: ${e.message}`);
      return 5;
    }
    if (e instanceof DeadLetterNotFoundError) {
      err(`cohort: ${e.message}`);
      return 3;
    }
    if (e instanceof DeadLetterConflictError) {
      err(`cohort: ${e.message}`);
      return 4;
    }
    const message = (e as Error).message;
    if (e instanceof ConnectionError || /CONNECTION_REFUSED|ECONNREFUSED/i.test(message)) {
      err(
        `cohort: cannot reach NATS at ${process.env.NATS_URL ?? DEFAULT_NATS_URL} (${message}); is it running?`,
      );
      return 1;
    }
    err(`cohort: ${message}`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
