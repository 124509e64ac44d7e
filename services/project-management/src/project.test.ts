import {
  newEventId,
  parseProjectsEvent,
  ProjectCreated,
  ProjectStatus,
  ProjectStatusChanged,
} from '@cohort/contracts';
import { deciderSpec } from '@cohort/infra/testing';
import { describe, expect, it } from 'vitest';
import {
  CommandRefused,
  projectDecider,
  type Command,
  type ProjectEvent,
  type Refusal,
} from './project.js';

const actor = { id: 'dr.lee', role: 'sponsor' as const };
const at = '2026-02-01T10:00:00.000Z';
const create: Command = {
  type: 'CreateProject',
  projectId: 'T1',
  name: 'Trial one',
  requestId: crypto.randomUUID(),
  actor,
  at,
};
const to = (status: ProjectStatus, reason?: string): Command => ({
  type: 'ChangeStatus',
  projectId: 'T1',
  to: status,
  actor,
  at,
  ...(reason ? { reason } : {}),
});

const spec = deciderSpec(projectDecider, { parse: parseProjectsEvent });

const envelope = { version: 1 as const, occurredAt: at, recordedAt: at, source: 'test', actor };

/** T1 was created by `create`'s request. */
const created: ProjectCreated = {
  ...envelope,
  id: newEventId(),
  type: 'ProjectCreated',
  correlationId: create.requestId,
  causationId: create.requestId,
  data: { projectId: 'T1', name: 'Trial one', requestId: create.requestId, status: 'planned' },
};

const changed = (from: ProjectStatus, target: ProjectStatus): ProjectStatusChanged => ({
  ...envelope,
  id: newEventId(),
  type: 'ProjectStatusChanged',
  reason: 'because',
  correlationId: 'c',
  causationId: 'c',
  data: { projectId: 'T1', from, to: target, effectiveAt: at },
});

/** The events that bring T1 from nothing to `status`. */
function historyTo(status: ProjectStatus): ProjectEvent[] {
  const paths: Record<ProjectStatus, ProjectStatus[]> = {
    planned: [],
    enrolling: ['enrolling'],
    active: ['enrolling', 'active'],
    suspended: ['enrolling', 'active', 'suspended'],
    closed: ['enrolling', 'active', 'closed'],
    locked: ['enrolling', 'active', 'closed', 'locked'],
  };
  const steps = ['planned' as const, ...paths[status]];
  return [created, ...steps.slice(1).map((s, i) => changed(steps[i]!, s))];
}

/** The refusal `command` meets, given `history`. */
const refusal = (history: ProjectEvent[], command: Command): Refusal =>
  spec.given(history).when(command).thenThrows(CommandRefused).refusal;

describe('CreateProject', () => {
  it('given nothing, creates a planned project', () => {
    const [e] = spec
      .given([])
      .when(create)
      .then([{ actor, data: { projectId: 'T1', name: 'Trial one', status: 'planned' } }]);
    expect(ProjectCreated.parse(e)).toMatchObject({
      actor,
      data: { projectId: 'T1', name: 'Trial one', status: 'planned' },
    });
  });

  it('given the same request before, creates nothing (idempotent)', () => {
    spec.given([created]).when(create).then([]);
  });

  it('given the same request with another name, refuses: the requestId is taken', () => {
    expect(refusal([created], { ...create, name: 'Another trial' })).toEqual({
      kind: 'request-conflict',
      requestId: create.requestId,
    });
  });

  it('given another request created it, refuses: already exists', () => {
    expect(refusal([created], { ...create, requestId: crypto.randomUUID() })).toEqual({
      kind: 'already-exists',
      projectId: 'T1',
    });
  });
});

/** The README's lifecycle, written out: the code's TRANSITIONS must agree with it, pair by pair. */
const LIFECYCLE: Record<ProjectStatus, ProjectStatus[]> = {
  planned: ['enrolling'],
  enrolling: ['active'],
  active: ['suspended', 'closed'],
  suspended: ['active', 'closed'],
  closed: ['locked'],
  locked: [],
};

describe('ChangeStatus', () => {
  const statuses = ProjectStatus.options;

  for (const from of statuses) {
    for (const target of statuses) {
      const allowed = LIFECYCLE[from].includes(target);
      it(`given ${from}, when -> ${target}: ${allowed ? 'changes' : 'refuses, naming the allowed ones'}`, () => {
        const when = spec.given(historyTo(from)).when(to(target, 'a reason'));
        if (allowed) {
          const expected = {
            actor,
            reason: 'a reason',
            data: { from, to: target, effectiveAt: at },
          };
          const [e] = when.then([{ type: 'ProjectStatusChanged', ...expected }]);
          expect(ProjectStatusChanged.parse(e)).toMatchObject(expected);
        } else {
          expect(when.thenThrows(CommandRefused).refusal).toEqual<Refusal>({
            kind: 'transition-not-allowed',
            from,
            to: target,
            allowed: LIFECYCLE[from],
          });
        }
      });
    }
  }

  for (const from of statuses) {
    for (const target of LIFECYCLE[from]) {
      it(`refuses ${from} -> ${target} without a reason, and makes none up`, () => {
        for (const reason of [undefined, '   ']) {
          expect(refusal(historyTo(from), to(target, reason))).toEqual({
            kind: 'reason-required',
            to: target,
          });
        }
      });
    }
  }

  it('refuses a project that does not exist', () => {
    expect(refusal([], to('enrolling'))).toEqual({ kind: 'not-found', projectId: 'T1' });
  });

  it('evolves the status and keeps name and creation', () => {
    expect(spec.given(historyTo('suspended')).state).toMatchObject({
      exists: true,
      status: 'suspended',
      name: 'Trial one',
      createdBy: create.requestId,
    });
  });
});
