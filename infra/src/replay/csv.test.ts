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

  it('gives every answer item seen a column, and its unit one where any answer had a unit', () => {
    const layout = new CsvLayout();
    const rows = [
      report(1, [{ itemId: 'pain', value: 3, unit: 'nrs' }]),
      report(2, [{ itemId: 'mood', value: 'ok' }]),
      {
        seq: 3,
        subject: 'projects.T',
        time: 't',
        event: { type: 'ProjectCreated', data: { projectId: 'T', name: 'x' } },
      },
    ];
    rows.forEach((r) => layout.observe(r));
    const header = layout.header().trimEnd().split(',');
    expect(header.slice(-5)).toEqual([
      'answer.mood',
      'answer.pain',
      'answer.pain.unit',
      'data',
      'invalid',
    ]);
    const cells = (r: ReplayRecord) => layout.row(r).trimEnd();
    expect(cells(rows[0]!).endsWith(',,3,nrs,,')).toBe(true);
    expect(cells(rows[1]!).endsWith(',ok,,,,')).toBe(true);
    // What has no column of its own stays in `data`, as JSON.
    expect(cells(rows[2]!).endsWith(',,,,"{""projectId"":""T"",""name"":""x""}",')).toBe(true);
  });
});
