import { AlertId, type SafetyCondition } from '@cohort/contracts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { alertIdOf, meets, previousAnswer, type AnswerValue } from './safety.js';

const nonNumbers: AnswerValue[] = ['2', true, false, null, ['2'], []];

describe('meets', () => {
  it('at-least: PHQ-9 item 9 at 2 or more, numbers only', () => {
    const c: SafetyCondition = { kind: 'at-least', value: 2 };
    expect([0, 1, 1.99, 2, 3].map((v) => meets(c, v, undefined))).toEqual([
      false,
      false,
      false,
      true,
      true,
    ]);
    for (const v of nonNumbers) expect(meets(c, v, undefined)).toBe(false);
  });

  it('at-most: numbers at or below the threshold', () => {
    const c: SafetyCondition = { kind: 'at-most', value: 90 };
    expect([89, 90, 91].map((v) => meets(c, v, undefined))).toEqual([true, true, false]);
    for (const v of nonNumbers) expect(meets(c, v, undefined)).toBe(false);
  });

  it('equals: the same type and value', () => {
    expect(meets({ kind: 'equals', value: 'yes' }, 'yes', undefined)).toBe(true);
    expect(meets({ kind: 'equals', value: 'yes' }, 'Yes', undefined)).toBe(false);
    expect(meets({ kind: 'equals', value: 1 }, '1', undefined)).toBe(false);
    expect(meets({ kind: 'equals', value: 1 }, true, undefined)).toBe(false);
    expect(meets({ kind: 'equals', value: true }, true, undefined)).toBe(true);
    expect(meets({ kind: 'equals', value: 'yes' }, ['yes'], undefined)).toBe(false);
    expect(meets({ kind: 'equals', value: 'null' }, null, undefined)).toBe(false);
  });

  it('one-of: a scalar in the list, or any chosen option in it', () => {
    const c: SafetyCondition = { kind: 'one-of', values: ['chest pain', 'fainting', 3] };
    expect(meets(c, 'fainting', undefined)).toBe(true);
    expect(meets(c, 3, undefined)).toBe(true);
    expect(meets(c, '3', undefined)).toBe(false);
    expect(meets(c, 'headache', undefined)).toBe(false);
    expect(meets(c, ['headache', 'chest pain'], undefined)).toBe(true);
    expect(meets(c, ['headache'], undefined)).toBe(false);
    expect(meets(c, [], undefined)).toBe(false);
    expect(meets(c, null, undefined)).toBe(false);
  });

  it('worsening: risen by at least the increase against the previous answer', () => {
    const c: SafetyCondition = { kind: 'worsening', increase: 3 };
    expect(meets(c, 8, 5)).toBe(true);
    expect(meets(c, 9, 5)).toBe(true);
    expect(meets(c, 7, 5)).toBe(false);
    expect(meets(c, 2, 5)).toBe(false);
    expect(meets(c, 8, undefined)).toBe(false);
    expect(meets(c, 8, null)).toBe(false);
    expect(meets(c, 8, '5')).toBe(false);
    expect(meets(c, '8', 5)).toBe(false);
  });

  it('never meets a number threshold with anything but a number', () => {
    const value = fc.oneof(
      fc.string(),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.string(), { maxLength: 3 }),
    );
    fc.assert(
      fc.property(value, fc.double({ noNaN: true }), (v, t) => {
        expect(meets({ kind: 'at-least', value: t }, v, undefined)).toBe(false);
        expect(meets({ kind: 'at-most', value: t }, v, undefined)).toBe(false);
        expect(meets({ kind: 'worsening', increase: 1 }, v, 0)).toBe(false);
      }),
    );
  });
});

describe('alertIdOf', () => {
  const requestId = '0b7e4b1e-9a43-4c1e-8f5e-3f1d2b6a9c01';

  it('is al- and the first 32 hex of SHA-256 over requestId and ruleId on two lines', () => {
    // printf '0b7e…9c01\nsuicidal-ideation' | sha256sum | cut -c1-32
    expect(alertIdOf(requestId, 'suicidal-ideation')).toBe('al-90e9e110522717b67cfa16ccf04646d9');
  });

  it('is a valid AlertId, the same every time, different for another report or rule', () => {
    fc.assert(
      fc.property(fc.uuid(), fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), (req, rule) => {
        const id = alertIdOf(req, rule);
        expect(AlertId.parse(id)).toBe(id);
        expect(alertIdOf(req, rule)).toBe(id);
        expect(alertIdOf(req, `${rule}x`)).not.toBe(id);
      }),
    );
    expect(alertIdOf(requestId, 'a')).not.toBe(alertIdOf(requestId.replace('0b', '0c'), 'a'));
  });
});

describe('previousAnswer', () => {
  const history = [
    { completedAt: '2026-01-03T09:00:00.000Z', value: 3 },
    { completedAt: '2026-01-01T09:00:00.000Z', value: 1 },
    { completedAt: '2026-01-02T09:00:00.000Z', value: null },
    { completedAt: '2026-01-05T09:00:00.000Z', value: 5 },
  ];

  it('is the latest answer completed strictly before, in any order', () => {
    expect(previousAnswer(history, '2026-01-04T00:00:00.000Z')).toBe(3);
    expect(previousAnswer(history, '2026-01-03T09:00:00.001Z')).toBe(3);
    expect(previousAnswer(history, '2026-01-02T12:00:00.000Z')).toBeNull();
  });

  it('is never the report itself: an answer at the same instant is not before it', () => {
    expect(previousAnswer(history, '2026-01-03T09:00:00Z')).toBeNull();
    expect(previousAnswer(history, '2026-01-01T09:00:00.000Z')).toBeUndefined();
  });

  it('is undefined with no history; of two at one instant the last given wins', () => {
    expect(previousAnswer([], '2026-01-04T00:00:00.000Z')).toBeUndefined();
    const tie = [
      { completedAt: '2026-01-01T09:00:00Z', value: 'first' },
      { completedAt: '2026-01-01T09:00:00.000Z', value: 'second' },
    ];
    expect(previousAnswer(tie, '2026-01-02T00:00:00Z')).toBe('second');
  });
});
