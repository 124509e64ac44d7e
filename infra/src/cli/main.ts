import { AuthorizationError, ConnectionError } from '@nats-io/transport-node';
import { DEFAULT_NATS_URL } from '../connection.js';
import { DeadLetterConflictError, DeadLetterNotFoundError } from '../deadletters/desk.js';
import { isPermissionViolation } from '../errors.js';
import { dlq, DLQ_USAGE } from './dlq.js';
import { UsageError } from './errors.js';
import { NotAllowed } from './identity.js';
import { natsConfig, NATS_CONFIG_USAGE } from './nats-config.js';
import { cmdProvision } from './provision.js';
import { cmdReplay } from './replay.js';
import { seed } from './seed.js';
import { cmdStream } from './stream.js';
import { token, TOKEN_USAGE } from './token.js';
import { cmdUp } from './up.js';

const USAGE = `cohort — operate a Cohort installation

Usage:
  cohort up [--dev]     find or start NATS, provision, run every service (Turborepo)
  cohort provision      create or update streams, buckets and durables (idempotent; as admin)
  cohort nats-config    write the nats-server configuration and each NATS user's env file
  cohort dlq …          the dead-letter desk: list, show, redrive, discard (cohort dlq help)
  cohort replay …       write a stream's events as JSONL or CSV (cohort replay help)
  cohort stream get …   print one message of a stream as replay writes it (cohort stream help)
  cohort token …        print a development token (cohort token --sub ID --role ROLE --trial T)
  cohort seed           create and activate demo trials through project-management
  cohort help           this text

Environment: NATS_URL (default ${DEFAULT_NATS_URL}), DATA_DIR (default <repo>/.data),
NATS_USER/NATS_PASSWORD or NATS_TOKEN (default: <DATA_DIR>/nats/admin.env for provision,
<DATA_DIR>/nats/cli.env for the other commands, when they exist),
COHORT_DUPLICATE_WINDOW_MS, COHORT_REPORTS_MAX_BYTES, COHORT_REPLICAS,
PROJECT_MANAGEMENT_URL (for seed; default http://127.0.0.1:3002).
Exit codes: 0 done, 1 failed, 2 bad arguments, 3 not found, 4 conflict, 5 no valid token for it.`;

const err = (s: string) => process.stderr.write(`${s}\n`);

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'up':
        return await cmdUp(rest, err);
      case 'provision':
        if (rest.length) throw new UsageError(`unexpected arguments: ${rest.join(' ')}`);
        return await cmdProvision((s) => console.log(s));
      case 'nats-config':
        return await natsConfig(rest, (s) => console.log(s));
      case 'dlq':
        return await dlq(rest);
      case 'token':
        return await token(rest);
      case 'replay':
        return await cmdReplay(rest);
      case 'stream':
        return await cmdStream(rest);
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
      const usages: Record<string, string> = {
        dlq: DLQ_USAGE,
        token: TOKEN_USAGE,
        'nats-config': NATS_CONFIG_USAGE,
      };
      const usage = usages[cmd ?? ''] ?? USAGE;
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
    if (e instanceof AuthorizationError || isPermissionViolation(e)) {
      err(
        `cohort: NATS refused this (${message}); check the NATS user (NATS_USER, or the env ` +
          'files of cohort nats-config under <DATA_DIR>/nats)',
      );
      return 1;
    }
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
