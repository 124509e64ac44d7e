import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import type { RebuildPlan } from '../rebuild/rebuilds.js';
import type { RebuildRecord } from '../rebuild/record.js';
import { UsageError } from './errors.js';
import { developmentMode, developmentToken } from './identity.js';

/** Where each subscriber service listens by default (`cohort up`). */
const DEFAULT_PORTS: Record<string, number> = {
  'project-management': 3002,
  edc: 3003,
  monitoring: 3004,
};
/** How often the progress of a running rebuild is shown. */
const POLL_MS = 1_000;
/** A rebuild follows its plan within seconds; a development token need not outlive it long. */
const TOKEN_TTL_SECONDS = 3_600;

export const REBUILD_USAGE = `cohort rebuild — build a service's read model again beside the live one

  cohort rebuild <service> <projection> [--execute] [--dead-letter] [--reason <why>]

Without --execute: prints the plan (streams, messages to apply, the live position, the shadow
tables) and the last rebuild's status; changes nothing. With --execute: starts the rebuild and
shows its progress until it is swapped in. An event it cannot apply stops it (exit 1, its
stream sequence shown); with --dead-letter it is recorded as a dead letter and the rebuild goes
on. Started again, a stopped rebuild resumes where it was.

Services: ${Object.keys(DEFAULT_PORTS).join(', ')}, at COHORT_<SERVICE>_URL (default
http://127.0.0.1:<port>: ${Object.entries(DEFAULT_PORTS)
  .map(([s, p]) => `${s} ${p}`)
  .join(', ')}).
Token: COHORT_TOKEN (role ops); in development, one is made for you.
Exit codes: 0 done, 1 failed, 2 bad arguments, 3 no such projection, 4 a rebuild runs already,
5 the token does not allow it.`;

/** A rebuild and a plan as the service's `/v1/rebuilds` answers them (JSON). */
type Rebuild = RebuildRecord;
type Plan = RebuildPlan;

function serviceUrl(service: string): string {
  const port = DEFAULT_PORTS[service];
  if (port === undefined) {
    throw new UsageError(
      `no service ${service} with read models to rebuild (${Object.keys(DEFAULT_PORTS).join(', ')})`,
    );
  }
  const variable = `COHORT_${service.toUpperCase().replaceAll('-', '_')}_URL`;
  return (process.env[variable] || `http://127.0.0.1:${port}`).replace(/\/$/, '');
}

async function opsToken(): Promise<string> {
  const given = process.env.COHORT_TOKEN;
  if (given) return given;
  if (!developmentMode()) {
    throw new UsageError('token keys are configured: set COHORT_TOKEN to a token of the ops role');
  }
  return developmentToken({
    sub: `ops.${userInfo().username}`,
    role: 'ops',
    trials: [],
    ttlSeconds: TOKEN_TTL_SECONDS,
  });
}

/** An answer the CLI turns into an exit code. */
class Refused extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

const EXIT_BY_STATUS: Record<number, number> = { 400: 2, 401: 5, 403: 5, 404: 3, 409: 4 };

function describePlan(p: Plan): string {
  const lines = [
    `projection     ${p.projection} (durable ${p.consumer})`,
    `stream         ${p.stream}${p.filterSubject ? ` (${p.filterSubject})` : ''}: ${p.messages} messages, last sequence ${p.streamLastSeq}`,
    `to apply       from sequence ${p.fromSeq}${p.fromSeq > 1 ? ' (resuming)' : ''}`,
    `live position  applied up to sequence ${p.live.appliedSeq}; ${p.live.pending ?? '?'} pending on its durable`,
    `shadow tables  ${p.tables.map((t) => `${p.shadowSchema}.${t}`).join(', ')}`,
  ];
  if (p.rebuild) lines.push(`last rebuild   ${describeRebuild(p.rebuild)}`);
  return lines.join('\n');
}

function describeRebuild(r: Rebuild): string {
  const counts = `applied ${r.applied}, skipped ${r.skipped}, dead letters ${r.deadLettered}`;
  switch (r.status) {
    case 'running':
      return `running: at sequence ${r.appliedSeq} of ${r.targetSeq} (${counts})`;
    case 'swapped':
      return `swapped in (${counts}; effects newly queued: ${r.effectsMerged ?? 0})`;
    case 'failed':
      return `stopped at sequence ${r.failedSeq ?? '?'}: ${r.error ?? 'unknown error'} (${counts})`;
    case 'interrupted':
      return `interrupted at sequence ${r.appliedSeq} (${counts}); start it again to resume`;
  }
}

/**
 * `cohort rebuild <service> <projection> [--execute] [--dead-letter] [--reason <why>]`: prints
 * to `out`, errors to stderr; returns the exit code.
 */
export async function rebuild(args: string[], out: (s: string) => void): Promise<number> {
  try {
    return await run(args, out);
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`cohort rebuild: ${(e as Error).message}\n\n${REBUILD_USAGE}\n`);
      return 2;
    }
    if (!(e instanceof Refused)) throw e;
    process.stderr.write(`cohort rebuild: ${e.message}\n`);
    return e.exitCode;
  }
}

async function run(args: string[], out: (s: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      execute: { type: 'boolean', default: false },
      'dead-letter': { type: 'boolean', default: false },
      reason: { type: 'string' },
    },
    allowPositionals: true,
    strict: true,
  });
  const [service, projection, ...extra] = positionals;
  if (service === 'help') {
    out(REBUILD_USAGE);
    return 0;
  }
  if (!service || !projection) throw new UsageError('name the service and the projection');
  if (extra.length) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
  const url = `${serviceUrl(service)}/v1/rebuilds/${encodeURIComponent(projection)}`;
  const headers = {
    authorization: `Bearer ${await opsToken()}`,
    'content-type': 'application/json',
  };
  const call = async (init?: RequestInit): Promise<Plan> => {
    const res = await fetch(url, { ...init, headers }).catch((e: unknown) => {
      const why = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
      throw new Refused(1, `cannot reach ${service} at ${url} (${why}); is it running?`);
    });
    const body = (await res.json()) as Plan & { message?: string };
    if (res.ok) return body;
    throw new Refused(EXIT_BY_STATUS[res.status] ?? 1, `${res.status}: ${body.message ?? ''}`);
  };
  if (!values.execute) {
    out(describePlan(await call()));
    out('\nnothing changed; run again with --execute to start it');
    return 0;
  }
  const started = await call({
    method: 'POST',
    body: JSON.stringify({
      execute: true,
      onFailure: values['dead-letter'] ? 'dead-letter' : 'stop',
      ...(values.reason ? { reason: values.reason } : {}),
    }),
  });
  out(describePlan(started));
  let last = '';
  for (;;) {
    const r = (await call()).rebuild;
    if (!r) throw new Error('the service shows no rebuild');
    const line = describeRebuild(r);
    if (line !== last) out(line);
    last = line;
    if (r.status === 'swapped') return 0;
    if (r.status !== 'running') return 1;
    await new Promise((done) => setTimeout(done, POLL_MS));
  }
}
