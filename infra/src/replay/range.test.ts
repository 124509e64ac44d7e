import { describe, expect, it } from 'vitest';
import { BadRange } from './errors.js';
import { replayRange } from './range.js';
import { deliveredNanos, formatStreamTime, parseStreamTime } from './stream-time.js';

describe('stream times', () => {
  it('keep every nanosecond, whatever the zone they are written in', () => {
    const t = parseStreamTime('2026-01-31T08:00:00.123456789Z')!;
    expect(t).toBe(1_769_846_400_123_456_789n);
    expect(formatStreamTime(t)).toBe('2026-01-31T08:00:00.123456789Z');
    expect(parseStreamTime('2026-01-31T09:30:00.123456789+01:30')).toBe(t);
    expect(parseStreamTime('2026-01-31T08:00:00Z')).toBe(1_769_846_400_000_000_000n);
    expect(parseStreamTime('2026-01-31T08:00:00.5Z')).toBe(1_769_846_400_500_000_000n);
  });

  it('refuse what is not an RFC 3339 time, or a day that does not exist', () => {
    for (const bad of [
      'yesterday',
      '2026-01-31',
      '2026-01-31T08:00:00',
      '2026-02-30T00:00:00Z',
      '2026-01-31T24:00:00Z',
      '2026-01-31T08:00:00.1234567890Z',
    ]) {
      expect(parseStreamTime(bad), bad).toBeNull();
    }
  });
});

describe('a replay range', () => {
  it('starts at the first message and ends at the last by default', () => {
    expect(replayRange({})).toEqual({ start: { from: 'start' }, end: { to: 'end' } });
    expect(replayRange({ fromStart: true })).toEqual(replayRange({}));
  });

  it('takes one start and one end, by sequence or time', () => {
    expect(replayRange({ fromSeq: '5', until: '2026-01-31T08:00:00Z' })).toEqual({
      start: { from: 'seq', seq: 5 },
      end: { to: 'time', nanos: 1_769_846_400_000_000_000n },
    });
    expect(replayRange({ since: '2026-01-31T08:00:00Z', toSeq: '9' }).end).toEqual({
      to: 'seq',
      seq: 9,
    });
    expect(replayRange({ fromSeq: '7', toSeq: '7' }).start).toEqual({ from: 'seq', seq: 7 });
  });

  it('refuses bounds that do not hold together, naming the flags', () => {
    const refused = (flags: Parameters<typeof replayRange>[0], message: RegExp) => {
      expect(() => replayRange(flags)).toThrow(BadRange);
      expect(() => replayRange(flags)).toThrow(message);
    };
    refused({ fromSeq: '9', toSeq: '3' }, /--from-seq 9 is after --to-seq 3/);
    refused(
      { since: '2026-01-31T08:00:00.000000002Z', until: '2026-01-31T08:00:00.000000001Z' },
      /--since .* is after --until/,
    );
    refused({ fromSeq: '0' }, /--from-seq must be a stream sequence/);
    refused({ toSeq: '1.5' }, /--to-seq must be/);
    refused({ since: 'monday' }, /--since must be an RFC 3339 time/);
    refused({ fromSeq: '1', since: '2026-01-31T08:00:00Z' }, /one start/);
    refused({ toSeq: '1', until: '2026-01-31T08:00:00Z' }, /one end/);
  });
});

describe('deliveredNanos', () => {
  it('reads the timestamp of both forms of acknowledgement subject, and nothing else', () => {
    expect(deliveredNanos('$JS.ACK.REPORTS.c1.1.42.42.1764585759185972844.7')).toBe(
      '1764585759185972844',
    );
    expect(
      deliveredNanos('$JS.ACK.hub.ACCHASH.REPORTS.c1.1.42.42.1764585759185972844.7.r4nd0m'),
    ).toBe('1764585759185972844');
    for (const other of [undefined, '', '_INBOX.x.y', '$JS.ACK.REPORTS.c1.1.42.42.17x.7']) {
      expect(deliveredNanos(other)).toBeUndefined();
    }
  });
});
