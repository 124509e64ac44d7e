import { AuthorizationError, ConnectionError } from '@nats-io/transport-node';
import { DEFAULT_NATS_URL } from '../connection.js';
import { DeadLetterConflictError, DeadLetterNotFoundError } from '../deadletters/desk.js';
import { isPermissionViolation } from '../errors.js';
import { UsageError } from './errors.js';
import { NotAllowed } from './identity.js';

const USAGE = `cohort — operate a Cohort installation

Usage:
  cohort up [--dev] [--cluster N]
                        find or start NATS (N local nats-servers as a cluster), provision,
                        run every service (Turborepo)
  cohort provision      create or update streams, buckets and durables (idempotent; as admin)
  cohort nats-config    write the nats-server configuration and each NATS user's env file
  cohort dlq …          the dead-letter desk: list, show, redrive, discard (cohort dlq help)
  cohort replay …       write a stream's events as JSONL or CSV (cohort replay help)
  cohort stream get …   print one message of a stream as replay writes it (cohort stream help)
  cohort token …        print a development token (cohort token --sub ID --role ROLE --trial T)
  cohort rebuild …      rebuild a service's read model beside the live one (cohort rebuild help)
  cohort seed           create and activate demo trials through project-management
  cohort help           this text

Environment: NATS_URL (default ${DEFAULT_NATS_URL}), DATA_DIR (default <repo>/.data),
NATS_USER/NATS_PASSWORD or NATS_TOKEN (default: <DATA_DIR>/nats/admin.env for provision,
<DATA_DIR>/nats/cli.env for the other commands, when they exist),
COHORT_DUPLICATE_WINDOW_MS, COHORT_REPORTS_MAX_BYTES, COHORT_REPLICAS,
PROJECT_MANAGEMENT_URL (for seed; default http://127.0.0.1:3002).
Exit codes: 0 done, 1 failed, 2 bad arguments, 3 not found, 4 conflict, 5 no valid token for it.`;

const err = (s: string) => process.stderr.write(`${s}\n`);

const log = (s: string) => console.log(s);

interface Command {
  run(args: string[]): Promise<number>;
  /** What a bad argument prints after the error; the overall usage when absent. */
  usage?: string;
}

/**
 * Each command's module, loaded when the command runs: a command starts with its own code
 * alone (a replay starts reading sooner without the rest of the CLI loaded).
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  up: async () => {
    const { cmdUp } = await import('./up.js');
    return { run: (args) => cmdUp(args, err) };
  },
  provision: async () => {
    const { cmdProvision } = await import('./provision.js');
    return {
      run: (args) => {
        if (args.length) throw new UsageError(`unexpected arguments: ${args.join(' ')}`);
        return cmdProvision(log);
      },
    };
  },
  'nats-config': async () => {
    const { natsConfig, NATS_CONFIG_USAGE } = await import('./nats-config.js');
    return { run: (args) => natsConfig(args, log), usage: NATS_CONFIG_USAGE };
  },
  dlq: async () => {
    const { dlq, DLQ_USAGE } = await import('./dlq.js');
    return { run: dlq, usage: DLQ_USAGE };
  },
  token: async () => {
    const { token, TOKEN_USAGE } = await import('./token.js');
    return { run: token, usage: TOKEN_USAGE };
  },
  replay: async () => ({ run: (await import('./replay.js')).cmdReplay }),
  stream: async () => ({ run: (await import('./stream.js')).cmdStream }),
  rebuild: async () => {
    const { rebuild } = await import('./rebuild.js');
    return { run: (args) => rebuild(args, log) };
  },
  seed: async () => {
    const { seed } = await import('./seed.js');
    return {
      run: () => seed(process.env.PROJECT_MANAGEMENT_URL ?? 'http://127.0.0.1:3002', log),
    };
  },
};

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  let command: Command | undefined;
  try {
    if (cmd === undefined || ['help', '--help', '-h'].includes(cmd)) {
      console.log(USAGE);
      return cmd === undefined ? 2 : 0;
    }
    const load = Object.hasOwn(COMMANDS, cmd) ? COMMANDS[cmd] : undefined;
    if (!load) throw new UsageError(`unknown command: ${cmd}`);
    command = await load();
    return await command.run(rest);
  } catch (e) {
    // Node's argument errors have string codes; NATS's errors may carry numbers.
    const code = (e as { code?: unknown }).code;
    if (
      e instanceof UsageError ||
      (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))
    ) {
      const usage = command?.usage ?? USAGE;
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
