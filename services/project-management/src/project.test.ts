import { ProjectStatus, ProjectStatusChanged, ProjectCreated } from '@cohort/contracts';
import { describe, expect, it } from 'vitest';
import {
  CommandRefused,
  decide,
  evolve,
  initial,
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

/** Given these commands already happened (events folded), when `command`, then the result. */
function given(...history: Command[]) {
  let state = initial;
  for (const c of history) for (const e of decide(c, state)) state = evolve(state, e);
  return {
    when: (command: Command) => {
      try {
        return { events: decide(command, state), refusal: undefined };
      } catch (e) {
        if (e instanceof CommandRefused)
          return { events: [] as ProjectEvent[], refusal: e.refusal };
        throw e;
      }
    },
    state,
  };
}

/** The commands that bring a project from nothing to `status`. */
function pathTo(status: ProjectStatus): Command[] {
  const paths: Record<ProjectStatus, ProjectStatus[]> = {
    planned: [],
    enrolling: ['enrolling'],
    active: ['enrolling', 'active'],
    suspended: ['enrolling', 'active', 'suspended'],
    closed: ['enrolling', 'active', 'closed'],
    locked: ['enrolling', 'active', 'closed', 'locked'],
  };
  return [create, ...paths[status].map((s) => to(s, 'because'))];
}

describe('CreateProject', () => {
  it('given nothing, creates a planned project', () => {
    const { events } = given().when(create);
    expect(events).toHaveLength(1);
    const e = ProjectCreated.parse(events[0]);
    expect(e).toMatchObject({
      actor,
      data: { projectId: 'T1', name: 'Trial one', status: 'planned' },
    });
  });

  it('given the same request before, creates nothing (idempotent)', () => {
    expect(given(create).when(create)).toEqual({ events: [], refusal: undefined });
  });

  it('given the same request with another name, refuses: the requestId is taken', () => {
    const { refusal } = given(create).when({ ...create, name: 'Another trial' });
    expect(refusal).toEqual({ kind: 'request-conflict', requestId: create.requestId });
  });

  it('given another request created it, refuses: already exists', () => {
    const { refusal } = given(create).when({ ...create, requestId: crypto.randomUUID() });
    expect(refusal).toEqual({ kind: 'already-exists', projectId: 'T1' });
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
        const { events, refusal } = given(...pathTo(from)).when(to(target, 'a reason'));
        if (allowed) {
          expect(refusal).toBeUndefined();
          const e = ProjectStatusChanged.parse(events[0]);
          expect(e).toMatchObject({
            actor,
            reason: 'a reason',
            data: { from, to: target, effectiveAt: at },
          });
        } else {
          expect(refusal).toEqual<Refusal>({
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
          expect(given(...pathTo(from)).when(to(target, reason)).refusal).toEqual({
            kind: 'reason-required',
            to: target,
          });
        }
      });
    }
  }

  it('refuses a project that does not exist', () => {
    expect(given().when(to('enrolling')).refusal).toEqual({ kind: 'not-found', projectId: 'T1' });
  });

  it('evolves the status and keeps name and creation', () => {
    const { state } = given(...pathTo('suspended'));
    expect(state).toMatchObject({
      exists: true,
      status: 'suspended',
      name: 'Trial one',
      createdBy: create.requestId,
    });
  });
});
