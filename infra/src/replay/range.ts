import { BadRange } from './errors.js';
import { parseStreamTime } from './stream-time.js';

/** Where a replay starts: the stream's first message, a sequence, or a time (inclusive). */
export type ReplayStart =
  { from: 'start' } | { from: 'seq'; seq: number } | { from: 'time'; nanos: bigint };

/**
 * Where it ends (inclusive): a sequence or a time, and never past the stream's last sequence when
 * the replay began, so a replay ends even while the stream grows.
 */
export type ReplayEnd = { to: 'end' } | { to: 'seq'; seq: number } | { to: 'time'; nanos: bigint };

export interface ReplayRange {
  start: ReplayStart;
  end: ReplayEnd;
}

/** The bounds as the command line gives them; at most one start and one end. */
export interface RangeFlags {
  fromStart?: boolean;
  fromSeq?: string;
  since?: string;
  toSeq?: string;
  until?: string;
}

function sequence(flag: string, value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new BadRange(`${flag} must be a stream sequence (1, 2, …), not ${JSON.stringify(value)}`);
  }
  return Number(value);
}

function time(flag: string, value: string): bigint {
  const nanos = parseStreamTime(value);
  if (nanos === null) {
    throw new BadRange(
      `${flag} must be an RFC 3339 time such as 2026-01-31T08:00:00Z or ` +
        `2026-01-31T09:00:00.5+01:00, not ${JSON.stringify(value)}`,
    );
  }
  return nanos;
}

/** The range the flags describe; BadRange names the flags that do not hold together. */
export function replayRange(flags: RangeFlags): ReplayRange {
  const starts = [
    flags.fromStart && '--from-start',
    flags.fromSeq !== undefined && '--from-seq',
    flags.since !== undefined && '--since',
  ].filter(Boolean);
  if (starts.length > 1) throw new BadRange(`give one start, not ${starts.join(' and ')}`);
  if (flags.toSeq !== undefined && flags.until !== undefined) {
    throw new BadRange('give one end, not --to-seq and --until');
  }
  const start: ReplayStart =
    flags.fromSeq !== undefined
      ? { from: 'seq', seq: sequence('--from-seq', flags.fromSeq) }
      : flags.since !== undefined
        ? { from: 'time', nanos: time('--since', flags.since) }
        : { from: 'start' };
  const end: ReplayEnd =
    flags.toSeq !== undefined
      ? { to: 'seq', seq: sequence('--to-seq', flags.toSeq) }
      : flags.until !== undefined
        ? { to: 'time', nanos: time('--until', flags.until) }
        : { to: 'end' };
  if (start.from === 'seq' && end.to === 'seq' && start.seq > end.seq) {
    throw new BadRange(`--from-seq ${start.seq} is after --to-seq ${end.seq}`);
  }
  if (start.from === 'time' && end.to === 'time' && start.nanos > end.nanos) {
    throw new BadRange(`--since ${flags.since} is after --until ${flags.until}`);
  }
  return { start, end };
}
