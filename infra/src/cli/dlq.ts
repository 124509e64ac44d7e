import { parseArgs } from 'node:util';
import { DeadLetterId } from '@cohort/contracts';
import { connect, natsOptionsFromEnv } from '../connection.js';
import {
  DEAD_LETTER_STATUSES,
  DeadLetterDesk,
  DEFAULT_REDRIVE_RATE,
  type DeadLetter,
  type DeadLetterStatus,
} from '../deadletters/desk.js';
import { summary } from '../deadletters/routes.js';
import { CLI_USER } from '../access/services.js';
import { topology, topologyOptionsFromEnv } from '../topology.js';
import { provisionOrVerify } from '../topology-check.js';
import { UsageError } from './errors.js';
import { actorOf } from '../auth/caller.js';
import type { Action } from '../auth/policy.js';
import { cliCaller } from './identity.js';

export const DLQ_USAGE = `cohort dlq — the dead-letter desk

  cohort dlq list [--consumer C] [--status open|redriven|discarded] [--json]
  cohort dlq show <id> [--json]
  cohort dlq redrive <id> --reason "..."
  cohort dlq redrive --consumer C --all --reason "..." [--rate N]
  cohort dlq discard <id> --reason "..."

Every action needs a token of the ops role: --token <jwt> or COHORT_TOKEN; its sub is recorded
as who acted. Redrive and discard need --reason.
Exit codes: 0 done, 1 failed (e.g. NATS unreachable), 2 bad arguments, 3 no such dead letter,
4 not allowed in its status or changed by someone else, 5 no valid token allowing it.`;

const options = {
  consumer: { type: 'string' },
  status: { type: 'string' },
  json: { type: 'boolean' },
  reason: { type: 'string' },
  token: { type: 'string' },
  all: { type: 'boolean' },
  rate: { type: 'string' },
} as const;

function reasonOf(values: { reason?: string }): string {
  const r = values.reason?.trim();
  if (!r) throw new UsageError('say why: --reason "..."');
  return r;
}

function idOf(positionals: string[]): string {
  const id = positionals[0];
  if (!id) throw new UsageError('which dead letter? give its id (dl-…)');
  if (positionals.length > 1)
    throw new UsageError(`unexpected arguments: ${positionals.slice(1).join(' ')}`);
  if (!DeadLetterId.safeParse(id).success)
    throw new UsageError(`not a dead-letter id: ${id} (they look like dl-42)`);
  return id;
}

function line(d: DeadLetter): string {
  const err = (d.lastError ?? '').replace(/\s+/g, ' ');
  return [
    d.id.padEnd(8),
    d.consumer.padEnd(22),
    d.status.padEnd(10),
    d.cause.padEnd(15),
    String(d.deliveries).padStart(4),
    `  ${d.stream}#${d.seq}`.padEnd(16),
    ` ${err.length > 60 ? `${err.slice(0, 57)}...` : err}`,
  ].join(' ');
}

function details(d: DeadLetter): string {
  const out = [
    `${d.id}  ${d.status}  (${d.cause})`,
    `consumer:     ${d.consumer}`,
    `message:      ${d.stream} #${d.seq}  ${d.subject}`,
    `deliveries:   ${d.deliveries}`,
    `failed:       first ${d.firstFailedAt}, last ${d.lastFailedAt}`,
    `last error:   ${d.lastError ?? '(none recorded)'}`,
    'history:',
    ...d.history.map(
      (h) =>
        `  ${h.at}  ${h.action.padEnd(9)} by ${h.actor.id} (${h.actor.role})${h.reason ? `: ${h.reason}` : ''}`,
    ),
    'payload:',
    d.envelope !== null
      ? JSON.stringify(d.envelope, null, 2)
      : Buffer.from(d.payload, 'base64').toString('utf8'),
  ];
  return out.join('\n');
}

export async function dlq(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (!sub || sub === 'help' || sub === '--help') {
    console.log(DLQ_USAGE);
    return sub ? 0 : 2;
  }
  const { values, positionals } = parseArgs({
    args: rest,
    options,
    allowPositionals: true,
    strict: true,
  });
  if (values.status && !DEAD_LETTER_STATUSES.includes(values.status as DeadLetterStatus)) {
    throw new UsageError(`--status must be one of ${DEAD_LETTER_STATUSES.join(', ')}`);
  }
  // Validate everything before touching NATS.
  let run: (desk: DeadLetterDesk, actor: ReturnType<typeof actorOf>) => Promise<number>;
  let action: Action = 'deadletters.change';
  switch (sub) {
    case 'list': {
      if (positionals.length)
        throw new UsageError(`unexpected arguments: ${positionals.join(' ')}`);
      action = 'deadletters.read';
      run = async (desk) => {
        const items = await desk.list({
          consumer: values.consumer,
          status: values.status as DeadLetterStatus | undefined,
        });
        if (values.json) console.log(JSON.stringify(items.map(summary), null, 2));
        else if (items.length === 0) console.log('no dead letters');
        else for (const d of items) console.log(line(d));
        return 0;
      };
      break;
    }
    case 'show': {
      const id = idOf(positionals);
      action = 'deadletters.read';
      run = async (desk) => {
        const d = await desk.get(id);
        console.log(values.json ? JSON.stringify(d, null, 2) : details(d));
        return 0;
      };
      break;
    }
    case 'redrive': {
      const change = { reason: reasonOf(values) };
      if (values.all) {
        if (positionals.length)
          throw new UsageError('give either an id or --consumer C --all, not both');
        const consumer = values.consumer;
        if (!consumer) throw new UsageError('--all needs --consumer C');
        const rate = values.rate === undefined ? DEFAULT_REDRIVE_RATE : Number(values.rate);
        if (!(rate > 0 && rate <= 1000))
          throw new UsageError('--rate must be between 0 and 1000 per second');
        run = async (desk, actor) => {
          const done = await desk.redriveAll(consumer, { ...change, actor, ratePerSecond: rate });
          console.log(`redrove ${done.length} dead letter(s) of ${consumer}`);
          for (const d of done) console.log(line(d));
          return 0;
        };
      } else {
        const id = idOf(positionals);
        run = async (desk, actor) => {
          console.log(line(await desk.redrive(id, { ...change, actor })));
          return 0;
        };
      }
      break;
    }
    case 'discard': {
      const id = idOf(positionals);
      const change = { reason: reasonOf(values) };
      run = async (desk, actor) => {
        console.log(line(await desk.discard(id, { ...change, actor })));
        return 0;
      };
      break;
    }
    default:
      throw new UsageError(`unknown dlq command: ${sub}`);
  }

  const actor = actorOf(await cliCaller(values.token, action));
  const conn = await connect({
    ...natsOptionsFromEnv('cohort-cli', process.env, CLI_USER),
    waitOnFirstConnect: false,
  });
  try {
    // The CLI's user may not provision: where the topology differs, it works with what exists.
    const { missing } = await provisionOrVerify(conn, topology(topologyOptionsFromEnv()));
    if (missing.length > 0) {
      throw new Error(`missing ${missing.join(', ')}: provision it as admin (cohort provision)`);
    }
    const desk = await DeadLetterDesk.open(conn);
    const captured = await desk.captureAll();
    if (captured > 0) process.stderr.write(`captured ${captured} new dead letter(s)\n`);
    return await run(desk, actor);
  } finally {
    await conn.drain();
  }
}
