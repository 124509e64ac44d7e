import {
  decidedEnvelope,
  newEventId,
  type Actor,
  type DiaryScheduleSet,
  type DiaryScheduleSetData,
  type ProjectStatus,
  type SafetyRule,
  type SafetyRuleSet,
  type TrialProtocolEvent,
} from '@cohort/contracts';
import type { Decider } from '@cohort/infra';
import { isDeepStrictEqual } from 'node:util';
import { match } from 'ts-pattern';
import { CommandRefused, SOURCE } from './project.js';

type Schedule = Omit<DiaryScheduleSetData, 'projectId'>;

/** A trial's protocol: its diary schedule and its safety rules by id. */
export interface Protocol {
  schedule: Schedule | null;
  rules: Record<string, SafetyRule>;
}

export const initialProtocol: Protocol = { schedule: null, rules: {} };

/** Statuses in which the protocol may change: not once the trial is closed or locked. */
export const PROTOCOL_EDITABLE: ProjectStatus[] = ['planned', 'enrolling', 'active', 'suspended'];

interface Common {
  projectId: string;
  /** The trial's status when the command was decided (the project is another aggregate). */
  projectStatus: ProjectStatus | undefined;
  reason: string;
  actor: Actor;
  at: string;
  correlationId?: string;
}

export type ProtocolCommand =
  | (Common & { type: 'SetDiarySchedule'; schedule: Schedule })
  | (Common & { type: 'SetSafetyRule'; rule: SafetyRule });

function envelope(c: Common) {
  return decidedEnvelope({
    at: c.at,
    source: SOURCE,
    actor: c.actor,
    reason: c.reason,
    correlationId: c.correlationId ?? newEventId(),
  });
}

/**
 * Pure: a protocol change, or nothing when it changes nothing (the same schedule or rule set
 * again). Refused for a project that does not exist or is closed or locked.
 */
export function decideProtocol(c: ProtocolCommand, state: Protocol): TrialProtocolEvent[] {
  if (c.projectStatus === undefined) {
    throw new CommandRefused({ kind: 'not-found', projectId: c.projectId });
  }
  if (!PROTOCOL_EDITABLE.includes(c.projectStatus)) {
    throw new CommandRefused({
      kind: 'not-allowed-in-status',
      projectId: c.projectId,
      status: c.projectStatus,
      allowed: PROTOCOL_EDITABLE,
    });
  }
  return match(c)
    .with({ type: 'SetDiarySchedule' }, (c): DiaryScheduleSet[] =>
      isDeepStrictEqual(state.schedule, c.schedule)
        ? []
        : [
            {
              ...envelope(c),
              type: 'DiaryScheduleSet',
              reason: c.reason,
              data: { projectId: c.projectId, ...c.schedule },
            },
          ],
    )
    .with({ type: 'SetSafetyRule' }, (c): SafetyRuleSet[] =>
      isDeepStrictEqual(state.rules[c.rule.ruleId], c.rule)
        ? []
        : [
            {
              ...envelope(c),
              type: 'SafetyRuleSet',
              reason: c.reason,
              data: { projectId: c.projectId, rule: c.rule },
            },
          ],
    )
    .exhaustive();
}

/** Pure: the protocol after `event`. */
export function evolveProtocol(state: Protocol, event: TrialProtocolEvent): Protocol {
  return match(event)
    .with({ type: 'DiaryScheduleSet' }, ({ data: d }): Protocol => ({
      ...state,
      schedule: {
        questionnaireId: d.questionnaireId,
        frequency: d.frequency,
        windowHours: d.windowHours,
        nonCompliance: d.nonCompliance,
      },
    }))
    .with({ type: 'SafetyRuleSet' }, (e): Protocol => ({
      ...state,
      rules: { ...state.rules, [e.data.rule.ruleId]: e.data.rule },
    }))
    .exhaustive();
}

export const protocolDecider: Decider<ProtocolCommand, Protocol, TrialProtocolEvent> = {
  initialState: initialProtocol,
  decide: decideProtocol,
  evolve: evolveProtocol,
};
