import { parseArgs } from 'node:util';
import { Progress } from '../replay/progress.js';
import { replayRange } from '../replay/range.js';
import { replay, REPLAY_FORMATS, type ReplayFormat } from '../replay/replay.js';
import { Sink } from '../replay/sink.js';
import { UsageError } from './errors.js';
import { readStreams, streamNameOf } from './stream-access.js';

export const REPLAY_USAGE = `cohort replay — write a stream's events, upcast to their latest version

  cohort replay <stream> [--from-start | --from-seq N | --since TIME]
                         [--to-seq N | --until TIME]
                         [--subject PATTERN] [--type EventType]... [--trial ID]
                         [--format jsonl|csv] [--out FILE] [--rate N] [--token JWT]

From the first message (default), a sequence or a time, to a sequence or a time, both
inclusive, and never past the stream's last message when the replay began. TIME is RFC 3339
(2026-01-31T08:00:00Z, to the nanosecond). --subject is filtered by the server; --type and
--trial (the event's data.trialId, or data.projectId) by the CLI. JSONL (default): one line per
message with seq, subject, time and event; CSV: one row per message, one column per answer item.
--out writes a file instead of stdout; --rate reads at most N messages a second.
Needs a token of the sponsor or monitor role (--token or COHORT_TOKEN) and --trial unless its
trials are ["*"].
Exit codes: 0 done, 1 failed (e.g. NATS unreachable), 2 bad arguments (a bad range, an --out
that cannot be written), 3 no such stream, 5 a token or NATS user that does not allow it.`;

const options = {
  'from-start': { type: 'boolean' },
  'from-seq': { type: 'string' },
  since: { type: 'string' },
  'to-seq': { type: 'string' },
  until: { type: 'string' },
  subject: { type: 'string' },
  type: { type: 'string', multiple: true },
  trial: { type: 'string' },
  format: { type: 'string' },
  out: { type: 'string' },
  rate: { type: 'string' },
  token: { type: 'string' },
} as const;

function parse(args: string[]) {
  const { values, positionals } = parseArgs({ args, options, allowPositionals: true });
  const stream = streamNameOf(positionals[0]);
  if (positionals.length > 1) {
    throw new UsageError(`unexpected arguments: ${positionals.slice(1).join(' ')}`);
  }
  const format = (values.format ?? 'jsonl') as ReplayFormat;
  if (!REPLAY_FORMATS.includes(format)) {
    throw new UsageError(`--format must be one of ${REPLAY_FORMATS.join(', ')}`);
  }
  const rate = values.rate === undefined ? undefined : Number(values.rate);
  if (rate !== undefined && !(rate > 0 && Number.isFinite(rate))) {
    throw new UsageError('--rate must be a positive number of messages per second');
  }
  if (values.subject !== undefined && !/^\S+$/.test(values.subject)) {
    throw new UsageError(`--subject must be a subject or a pattern such as reports.T-1.>`);
  }
  if (values.out === '') throw new UsageError('--out needs a file name');
  const range = replayRange({
    fromStart: values['from-start'],
    fromSeq: values['from-seq'],
    since: values.since,
    toSeq: values['to-seq'],
    until: values.until,
  });
  return {
    token: values.token,
    trial: values.trial,
    out: values.out,
    options: {
      stream,
      range,
      subject: values.subject,
      types: values.type ?? [],
      trial: values.trial,
      format,
      ratePerSecond: rate,
    },
  };
}

export async function cmdReplay(args: string[]): Promise<number> {
  if (args[0] === 'help' || args[0] === '--help') {
    console.log(REPLAY_USAGE);
    return 0;
  }
  let parsed: ReturnType<typeof parse>;
  return readStreams(
    REPLAY_USAGE,
    () => (parsed = parse(args)),
    async (conn) => {
      const { options: o, out } = parsed;
      const progress = Progress.onStderr(o.stream);
      const counts = await replay(conn, o, () => Sink.open(out), progress);
      if (process.stderr.isTTY) {
        process.stderr.write(`${counts.written} of ${counts.read} message(s) written\n`);
      }
      return 0;
    },
  );
}
