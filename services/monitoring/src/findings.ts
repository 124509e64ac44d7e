import {
  decidedEnvelope,
  type MonitoringEvent,
  type NonComplianceDetected,
  type NonComplianceRule,
} from '@cohort/contracts';
import type { Decider } from '@cohort/infra';
import { MONITORING_ACTOR, SOURCE } from './alert.js';

/** A patient diary's non-compliance findings: the breaches already published, by id. */
export interface Findings {
  breaches: ReadonlySet<string>;
}

export const noFindings: Findings = { breaches: new Set() };

export interface Detect {
  type: 'Detect';
  trialId: string;
  patientId: string;
  siteId: string | null;
  rule: NonComplianceRule;
  breach: { breachId: string; percent: number; missedInARow: number };
  at: string;
}

/** The rule in words, as the event's reason. */
export function ruleText(rule: NonComplianceRule): string {
  return rule.kind === 'below-percent'
    ? `below ${rule.percent}% on time over the last ${rule.windows} windows`
    : `${rule.count} windows missed in a row`;
}

/** Pure: a breach is published once, whatever how often it is detected again. */
export function decideFindings(c: Detect, s: Findings): NonComplianceDetected[] {
  if (s.breaches.has(c.breach.breachId)) return [];
  return [
    {
      ...decidedEnvelope({
        at: c.at,
        source: SOURCE,
        actor: MONITORING_ACTOR,
        reason: ruleText(c.rule),
        correlationId: `${c.trialId}/${c.patientId}/${c.breach.breachId}`,
      }),
      type: 'NonComplianceDetected',
      data: {
        trialId: c.trialId,
        patientId: c.patientId,
        siteId: c.siteId,
        breachId: c.breach.breachId,
        rule: c.rule,
        compliancePercent: c.breach.percent,
        missedInARow: c.breach.missedInARow,
      },
    },
  ];
}

export function evolveFindings(s: Findings, e: MonitoringEvent): Findings {
  return e.type === 'NonComplianceDetected'
    ? { breaches: new Set([...s.breaches, e.data.breachId]) }
    : s;
}

export const findingsDecider: Decider<Detect, Findings, MonitoringEvent> = {
  initialState: noFindings,
  decide: decideFindings,
  evolve: evolveFindings,
};
