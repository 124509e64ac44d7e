import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { fieldIssues, SubmitReport, UtcInstant } from './index.js';

const messages = (s: unknown) => {
  const r = UtcInstant.safeParse(s);
  return r.success ? [] : r.error.issues.map((i) => i.message);
};

describe('UtcInstant', () => {
  it('accepts UTC instants on real days, unchanged', () => {
    for (const s of [
      '2026-01-31T09:00:00.000Z',
      '2024-02-29T00:00:00Z',
      '2000-02-29T23:59:59.999Z',
      '0001-01-01T00:00:00Z',
      '9999-12-31T23:59:59.999Z',
    ]) {
      expect(UtcInstant.parse(s)).toBe(s);
    }
  });

  it('refuses a day the calendar does not have, saying so', () => {
    expect(messages('2021-02-30T00:00:00Z')).toEqual(['2021-02-30 is not a calendar date']);
    expect(messages('2021-02-29T00:00:00Z')).toEqual(['2021-02-29 is not a calendar date']);
    expect(messages('1900-02-29T00:00:00Z')).toEqual(['1900-02-29 is not a calendar date']);
    expect(messages('2021-04-31T00:00:00Z')).toEqual(['2021-04-31 is not a calendar date']);
    expect(messages('2021-13-01T00:00:00Z')).toEqual(['2021-13-01 is not a calendar date']);
  });

  it('refuses year 0000, which PostgreSQL cannot store', () => {
    expect(messages('0000-01-01T00:00:00Z')).toEqual(['the year must be from 0001 to 9999']);
    expect(messages('0000-02-29T00:00:00Z')).toEqual(['the year must be from 0001 to 9999']);
  });

  it('names the field in a report, once', () => {
    for (const completedAt of ['0000-01-01T00:00:00Z', '2021-02-30T00:00:00Z']) {
      const r = SubmitReport.safeParse({
        requestId: '0b7e4b1e-9a43-4c1e-8f5e-3f1d2b6a9c01',
        trialId: 'T',
        patientId: 'P',
        questionnaire: { id: 'Q', version: '1' },
        answers: [{ itemId: 'q1', value: 2 }],
        completedAt,
      });
      expect(r.success).toBe(false);
      expect(fieldIssues(r.error!).map((i) => i.path)).toEqual(['completedAt']);
    }
  });

  it('keeps the other refusals with a plain message', () => {
    expect(messages('2026-01-31T09:00:00+02:00')).toEqual([
      'expected a UTC instant like 2026-01-31T09:00:00.000Z',
    ]);
    expect(messages('yesterday')).toEqual(['expected a UTC instant like 2026-01-31T09:00:00.000Z']);
    expect(messages(5)).toHaveLength(1);
  });

  it('accepts a date exactly when it is a real day of a year from 0001 to 9999', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 9999 }),
        fc.integer({ min: 0, max: 13 }),
        fc.integer({ min: 0, max: 32 }),
        (year, month, day) => {
          const pad = (n: number, w: number) => String(n).padStart(w, '0');
          const s = `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T12:00:00Z`;
          // Oracle: the Gregorian month lengths and leap-year rule, written out.
          const monthLengths = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
          const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
          const days = month === 2 && leap ? 29 : (monthLengths[month - 1] ?? 0);
          const real = year >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= days;
          expect(UtcInstant.safeParse(s).success, s).toBe(real);
        },
      ),
      { numRuns: 5_000 },
    );
  });

  it('stays JSON-only: a string in, the same string out, and a JSON Schema', () => {
    expect(z.toJSONSchema(UtcInstant)).toMatchObject({ type: 'string', format: 'date-time' });
  });
});
