import type { NonComplianceRule } from '@cohort/contracts';
import { percentOf, type Assessed } from './compliance.js';

/**
 * A breach of a non-compliance rule, published once by `breachId`: the due instant of the first
 * window of the breach. `percent` (on-time, to one decimal) and `missedInARow` are the values at
 * the occurrence where the breach started.
 */
export interface Breach {
  breachId: string;
  percent: number;
  missedInARow: number;
}

/** An occurrence whose outcome is known; a pending one may still be filled in. */
type Decided = Assessed & { status: 'on-time' | 'late' | 'missed' };

const isDecided = (a: Assessed): a is Decided => a.status !== 'pending';

/**
 * The breaches of `rule` in `assessed` (in due order), oldest first.
 *
 * The walk is over decided occurrences (on-time, late, missed) in due order, and a breach's id and
 * values depend only on the occurrences up to the one where it started: the same input gives the
 * same breaches, and appending later occurrences only appends breaches, never changes an earlier
 * one. Ids are distinct: each names a different occurrence's due.
 *
 * - `missed-in-a-row K`: a breach starts when the last K decided are all missed and lasts while
 *   they stay missed; a late or on-time one ends it. Id: the due of the run's first missed.
 *   `percent`: on-time over all decided occurrences up to the start (the run's own windows would
 *   always say 0); `missedInARow`: K.
 * - `below-percent P over N`: once N are decided, at each decided occurrence the on-time share of
 *   the last N is compared with P; a breach starts when it drops below P and lasts while it stays
 *   below. Id: the due of the first of those N at the start. `percent`: that share;
 *   `missedInARow`: the run of missed ending at the start (0 if the last one was late).
 */
export function breaches(assessed: Assessed[], rule: NonComplianceRule): Breach[] {
  const decided = assessed.filter(isDecided);
  switch (rule.kind) {
    case 'missed-in-a-row':
      return missedInARow(decided, rule.count);
    case 'below-percent':
      return belowPercent(decided, rule.percent, rule.windows);
    default:
      return rule satisfies never;
  }
}

function missedInARow(decided: readonly Decided[], count: number): Breach[] {
  const out: Breach[] = [];
  let onTime = 0;
  let run = 0;
  decided.forEach((d, i) => {
    if (d.status === 'on-time') onTime++;
    run = d.status === 'missed' ? run + 1 : 0;
    // Exactly at the K-th miss: the run goes on past K without starting another breach.
    if (run === count) {
      out.push({
        breachId: decided[i - count + 1]!.due,
        percent: percentOf(onTime, i + 1)!,
        missedInARow: count,
      });
    }
  });
  return out;
}

function belowPercent(decided: readonly Decided[], percent: number, windows: number): Breach[] {
  const out: Breach[] = [];
  let onTimeInWindow = 0;
  let run = 0;
  let inBreach = false;
  decided.forEach((d, i) => {
    if (d.status === 'on-time') onTimeInWindow++;
    if (i >= windows && decided[i - windows]!.status === 'on-time') onTimeInWindow--;
    run = d.status === 'missed' ? run + 1 : 0;
    if (i + 1 < windows) return;
    // Compared exactly, not through the rounded share: 79.96% is below 80 though it shows as 80.0.
    const below = onTimeInWindow * 100 < percent * windows;
    if (below && !inBreach) {
      out.push({
        breachId: decided[i - windows + 1]!.due,
        percent: percentOf(onTimeInWindow, windows)!,
        missedInARow: run,
      });
    }
    inBreach = below;
  });
  return out;
}
