import { createHash } from 'node:crypto';
import type { Answer, SafetyCondition } from '@cohort/contracts';
import { match } from 'ts-pattern';
import { msOf } from './time.js';

/** An answer's value: a string, number, boolean, null, or the options chosen (string[]). */
export type AnswerValue = Answer['value'];

/** Hex characters of the SHA-256 an alert id keeps: 128 bits, as `AlertId` in contracts requires. */
const ALERT_ID_HEX_LENGTH = 32;

/**
 * Whether an answer `value` meets `condition`, given the patient's `previous` answer to the same
 * item (undefined when there is none).
 * - `at-least` / `at-most`: `value >= ` / `value <= ` the threshold; only numbers meet them (a
 *   numeric string does not: answers carry their type).
 * - `equals`: a scalar of the same type and value; null and a list of choices never meet it
 *   (use `one-of` for choices).
 * - `one-of`: a scalar equal to one of the values, or a list of choices with any choice among them.
 * - `worsening`: value and previous are both numbers and `value - previous >= increase`.
 */
export function meets(
  condition: SafetyCondition,
  value: AnswerValue,
  previous: AnswerValue | undefined,
): boolean {
  return match(condition)
    .with({ kind: 'at-least' }, (c) => typeof value === 'number' && value >= c.value)
    .with({ kind: 'at-most' }, (c) => typeof value === 'number' && value <= c.value)
    .with({ kind: 'equals' }, (c) => value === c.value)
    .with({ kind: 'one-of' }, (c) =>
      Array.isArray(value)
        ? value.some((choice) => c.values.includes(choice))
        : value !== null && c.values.includes(value),
    )
    .with(
      { kind: 'worsening' },
      (c) =>
        typeof value === 'number' && typeof previous === 'number' && value - previous >= c.increase,
    )
    .exhaustive();
}

/**
 * The alert id of a report (by its `requestId`) meeting a rule: `al-` and the first 32 hex
 * characters of SHA-256 over `${requestId}\n${ruleId}`. The same report and rule always give the
 * same id, however often the report is applied, so an alert is raised once.
 */
export function alertIdOf(requestId: string, ruleId: string): string {
  const hash = createHash('sha256').update(`${requestId}\n${ruleId}`).digest('hex');
  return `al-${hash.slice(0, ALERT_ID_HEX_LENGTH)}`;
}

/**
 * The value of the latest entry of `history` completed strictly before `completedAt`, or
 * undefined when there is none. Of entries completed at the same instant the last given wins.
 * The report itself (completed at `completedAt`) is never its own previous answer.
 */
export function previousAnswer(
  history: { completedAt: string; value: AnswerValue }[],
  completedAt: string,
): AnswerValue | undefined {
  const before = msOf(completedAt);
  let best: { ms: number; value: AnswerValue } | undefined;
  for (const h of history) {
    const ms = msOf(h.completedAt);
    if (ms < before && (best === undefined || ms >= best.ms)) best = { ms, value: h.value };
  }
  return best?.value;
}
