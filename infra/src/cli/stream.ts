import { parseArgs } from 'node:util';
import { storedMessage } from '../replay/message-get.js';
import { eventTrial } from '../replay/record.js';
import { UsageError } from './errors.js';
import { readStreams, streamNameOf } from './stream-access.js';

export const STREAM_USAGE = `cohort stream — read single messages of a stream

  cohort stream get <stream> <seq> [--trial ID] [--token JWT]

Prints the message at sequence <seq> as cohort replay writes it (seq, subject, time and the
event upcast to its latest version), pretty-printed. Needs what cohort replay needs: a token of
the sponsor or monitor role, and --trial unless its trials are ["*"]; a message of another
trial is reported as absent.
Exit codes: 0 printed, 1 failed, 2 bad arguments, 3 no such stream or message, 5 a token or
NATS user that does not allow it.`;

const options = {
  trial: { type: 'string' },
  token: { type: 'string' },
} as const;

function parse(args: string[]) {
  const [sub, ...rest] = args;
  if (sub !== 'get')
    throw new UsageError(sub ? `unknown stream command: ${sub}` : 'which command?');
  const { values, positionals } = parseArgs({ args: rest, options, allowPositionals: true });
  const stream = streamNameOf(positionals[0]);
  const seqText = positionals[1];
  if (seqText === undefined) throw new UsageError('which message? give its sequence');
  if (!/^\d+$/.test(seqText) || Number(seqText) < 1 || !Number.isSafeInteger(Number(seqText))) {
    throw new UsageError(`not a stream sequence: ${seqText}`);
  }
  if (positionals.length > 2) {
    throw new UsageError(`unexpected arguments: ${positionals.slice(2).join(' ')}`);
  }
  return { stream, seq: Number(seqText), trial: values.trial, token: values.token };
}

export async function cmdStream(args: string[]): Promise<number> {
  if (args[0] === undefined || args[0] === 'help' || args[0] === '--help') {
    console.log(STREAM_USAGE);
    return args[0] ? 0 : 2;
  }
  let parsed: ReturnType<typeof parse>;
  return readStreams(
    STREAM_USAGE,
    () => (parsed = parse(args)),
    async (conn) => {
      const { stream, seq, trial } = parsed;
      const record = await storedMessage(conn, stream, seq);
      if (!record || (trial !== undefined && eventTrial(record) !== trial)) {
        process.stderr.write(
          `cohort: no message ${seq} in ${stream}${trial !== undefined ? ` of trial ${trial}` : ''}\n`,
        );
        return 3;
      }
      console.log(JSON.stringify(record, null, 2));
      return 0;
    },
  );
}
