import { newEventId, parseTrialProtocolEvent, type DiaryScheduleSet } from '@cohort/contracts';
import { deciderSpec } from '@cohort/infra/testing';
import { describe, expect, it } from 'vitest';
import { CommandRefused } from './project.js';
import { protocolDecider, type ProtocolCommand } from './protocol.js';

const actor = { id: 'dr.lee', role: 'sponsor' as const };
const at = '2026-02-01T10:00:00.000Z';
const schedule = {
  questionnaireId: 'SLEEP-DIARY',
  frequency: { kind: 'every' as const, days: 1 },
  windowHours: 24,
  nonCompliance: { kind: 'below-percent' as const, percent: 80, windows: 7 },
};
const rule = {
  ruleId: 'suicidal-ideation',
  questionnaireId: 'PHQ-9',
  itemId: 'q9',
  condition: { kind: 'at-least' as const, value: 2 },
  severity: 'high' as const,
  acknowledgeWithinMinutes: 60,
};
const common = {
  projectId: 'T1',
  projectStatus: 'active' as const,
  reason: 'protocol v2',
  actor,
  at,
};
const setSchedule: ProtocolCommand = { ...common, type: 'SetDiarySchedule', schedule };
const setRule: ProtocolCommand = { ...common, type: 'SetSafetyRule', rule };

const spec = deciderSpec(protocolDecider, { parse: parseTrialProtocolEvent });

const scheduleSet: DiaryScheduleSet = {
  id: newEventId(),
  type: 'DiaryScheduleSet',
  version: 1,
  occurredAt: at,
  recordedAt: at,
  source: 'test',
  actor,
  reason: 'protocol v1',
  correlationId: 'c',
  causationId: 'c',
  data: { projectId: 'T1', ...schedule },
};

describe('SetDiarySchedule', () => {
  it('given none, sets the schedule with who and why', () => {
    spec
      .given([])
      .when(setSchedule)
      .then([
        {
          type: 'DiaryScheduleSet',
          actor,
          reason: 'protocol v2',
          data: { projectId: 'T1', ...schedule },
        },
      ]);
  });

  it('given the same schedule, decides nothing', () => {
    spec.given([scheduleSet]).when(setSchedule).then([]);
  });

  it('given another schedule, replaces it', () => {
    const weekly = { ...schedule, frequency: { kind: 'every' as const, days: 7 } };
    const state = spec
      .given([scheduleSet])
      .when({ ...setSchedule, schedule: weekly })
      .thenState();
    expect(state.schedule).toEqual(weekly);
  });

  it.each(['closed', 'locked'] as const)('refuses for a %s trial', (status) => {
    const e = spec
      .given([])
      .when({ ...setSchedule, projectStatus: status })
      .thenThrows(CommandRefused);
    expect(e.refusal).toMatchObject({ kind: 'not-allowed-in-status', status });
  });

  it('refuses for a project that does not exist', () => {
    const e = spec
      .given([])
      .when({ ...setSchedule, projectStatus: undefined })
      .thenThrows(CommandRefused);
    expect(e.refusal).toEqual({ kind: 'not-found', projectId: 'T1' });
  });
});

describe('SetSafetyRule', () => {
  it('given none, sets the rule; the same again decides nothing; another replaces it by id', () => {
    const [first] = spec
      .given([])
      .when(setRule)
      .then([{ type: 'SafetyRuleSet', data: { rule } }]);
    spec.given([first!]).when(setRule).then([]);
    const stricter = { ...rule, condition: { kind: 'at-least' as const, value: 1 } };
    const state = spec
      .given([first!])
      .when({ ...setRule, rule: stricter })
      .thenState();
    expect(state.rules).toEqual({ [rule.ruleId]: stricter });
  });
});
