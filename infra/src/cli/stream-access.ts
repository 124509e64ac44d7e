import { AuthorizationError } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { ALL_TRIALS } from '../auth/caller.js';
import { CLI_USER } from '../access/services.js';
import { connect, natsOptionsFromEnv } from '../connection.js';
import { isPermissionViolation } from '../errors.js';
import { BadRange, StreamNotFound } from '../replay/errors.js';
import { UnwritableOutput } from '../replay/sink.js';
import { UsageError } from './errors.js';
import { topology } from '../topology.js';
import { cliCaller, NotAllowed } from './identity.js';

/** The NATS user refused the read: exit 5, like a token that does not allow it. */
class NatsRefused extends Error {}

const err = (s: string) => process.stderr.write(`${s}\n`);

/**
 * Runs a read of streams (`cohort replay`, `cohort stream get`) for the caller of `token` (or
 * COHORT_TOKEN), who must be allowed `streams.replay` on `trial`, or on every trial without
 * one, on a connection as the CLI's NATS user. Its failures become exit codes: 2 bad arguments
 * (a bad range, an --out that cannot be written), 3 no such stream (or message), 5 a token or a
 * NATS user that does not allow it. Anything else is thrown for main to report.
 */
export async function readStreams(
  usage: string,
  parse: () => { token?: string; trial?: string },
  work: (conn: NatsConnection) => Promise<number>,
): Promise<number> {
  try {
    const { token, trial } = parse();
    try {
      await cliCaller(token, 'streams.replay', { trialId: trial ?? ALL_TRIALS });
    } catch (e) {
      if (!(e instanceof NotAllowed) || !e.message.startsWith('this token does not allow')) throw e;
      throw new NotAllowed(
        `${e.message}: that needs the role sponsor or monitor, and --trial <id> for one of the ` +
          'token\'s trials unless its trials are ["*"]',
      );
    }
    const conn = await connect({
      ...natsOptionsFromEnv('cohort-cli', process.env, CLI_USER),
      waitOnFirstConnect: false,
    });
    try {
      return await work(conn.nc);
    } catch (e) {
      if (e instanceof AuthorizationError || isPermissionViolation(e)) {
        throw new NatsRefused(
          `NATS refused the read (${(e as Error).message}); the NATS user (NATS_USER, or ` +
            '<DATA_DIR>/nats/cli.env) may not read this stream',
        );
      }
      throw e;
    } finally {
      await conn.drain().catch(() => undefined);
    }
  } catch (e) {
    const message = (e as Error).message;
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      err(`cohort: ${message}\n\n${usage}`);
      return 2;
    }
    if (e instanceof BadRange || e instanceof UnwritableOutput) {
      err(`cohort: ${message}`);
      return 2;
    }
    if (e instanceof StreamNotFound) {
      err(`cohort: ${message}`);
      return 3;
    }
    if (e instanceof NotAllowed || e instanceof NatsRefused) {
      err(`cohort: ${message}`);
      return 5;
    }
    throw e;
  }
}

/**
 * A stream of the topology, by name; StreamNotFound (exit 3) for any other, which the CLI's
 * NATS user may not even ask the server about.
 */
export function streamNameOf(positional: string | undefined): string {
  const names = topology().streams.map((s) => s.name);
  if (!positional) throw new UsageError(`which stream? (${names.join(', ')})`);
  if (!names.includes(positional)) {
    throw new StreamNotFound(positional, `the streams are ${names.join(', ')}`);
  }
  return positional;
}
