import { describe, expect, it } from 'vitest';
import { CsvLayout, csvCell } from './csv.js';
import type { ReplayRecord } from './record.js';

const report = (
  seq: number,
  answers: unknown[],
  extra: Record<string, unknown> = {},
): ReplayRecord => ({
  seq,
  subject: 'reports.T.P',
  time: '2026-01-31T08:00:00.000000001Z',
  event: { type: 'ReportSubmitted', version: 2, data: { trialId: 'T', answers, ...extra } },
});

describe('CSV', () => {
  it('quotes only cells that need it (RFC 4180)', () => {
    expect(
      ['plain', 'a,b', 'say "hi"', 'two\nlines', 3, false, null, undefined, ['x', 'y']].map(
        csvCell,
      ),
    ).toEqual([
      'plain',
      '"a,b"',
      '"say ""hi"""',
      '"two\nlines"',
      '3',
      'false',
      '',
      '',
      '"[""x"",""y""]"',
    ]);
  });

  it('gives every answer item a column in the order items first appear, its unit one where any answer had a unit', () => {
    const layout = new CsvLayout();
    const project = {
      seq: 3,
      subject: 'projects.T',
      time: 't',
      event: { type: 'ProjectCreated', data: { projectId: 'T', name: 'x' } },
    };
    // data, invalid, then the answers known once the row is seen.
    const tail = (r: ReplayRecord, n: number) => layout.row(r).split(',').slice(-n);
    expect(tail(report(1, [{ itemId: 'pain', value: 3, unit: 'nrs' }]), 4)).toEqual([
      '',
      '',
      '3',
      'nrs',
    ]);
    expect(layout.answerColumns).toBe(2);
    expect(tail(report(2, [{ itemId: 'mood', value: 'ok' }]), 5)).toEqual(['', '', '', '', 'ok']);
    // What has no column of its own stays in `data`, as JSON.
    expect(layout.row(project).endsWith(',"{""projectId"":""T"",""name"":""x""}",,,,')).toBe(true);
    expect(layout.header().trimEnd().split(',').slice(-5)).toEqual([
      'data',
      'invalid',
      'answer.pain',
      'answer.pain.unit',
      'answer.mood',
    ]);
  });
});
