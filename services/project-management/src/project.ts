import {
  decidedEnvelope,
  newEventId,
  type Actor,
  type ProjectCreated,
  type ProjectStatus,
  type ProjectStatusChanged,
} from '@cohort/contracts';
import type { Decider } from '@cohort/infra';
import { match } from 'ts-pattern';

export type ProjectEvent = ProjectCreated | ProjectStatusChanged;

/** The Project aggregate's state, folded from its events. */
export type Project =
  | { exists: false }
  | {
      exists: true;
      projectId: string;
      name: string;
      status: ProjectStatus;
      /** The client requestId that created it: a retried creation is recognized. */
      createdBy: string;
      createdAt: string;
      updatedAt: string;
    };

export const initial: Project = { exists: false };

export type Command =
  | {
      type: 'CreateProject';
      projectId: string;
      name: string;
      requestId: string;
      actor: Actor;
      at: string;
      /** The outside request this belongs to; the requestId when absent. */
      correlationId?: string;
    }
  | {
      type: 'ChangeStatus';
      projectId: string;
      to: ProjectStatus;
      reason?: string;
      actor: Actor;
      /** When the change is recorded: the server's clock. */
      at: string;
      /** When the change takes effect, if the client backdates it; `at` otherwise. */
      effectiveAt?: string;
      correlationId?: string;
    };

/** Allowed transitions: `planned -> enrolling -> active <-> suspended`, `active | suspended -> closed -> locked`. */
export const TRANSITIONS: Record<ProjectStatus, ProjectStatus[]> = {
  planned: ['enrolling'],
  enrolling: ['active'],
  active: ['suspended', 'closed'],
  suspended: ['active', 'closed'],
  closed: ['locked'],
  locked: [],
};

/** Why a command was refused; the HTTP layer maps each kind to a status code. */
export type Refusal =
  | { kind: 'already-exists'; projectId: string }
  | { kind: 'request-conflict'; requestId: string }
  | { kind: 'not-found'; projectId: string }
  | {
      kind: 'transition-not-allowed';
      from: ProjectStatus;
      to: ProjectStatus;
      allowed: ProjectStatus[];
    }
  | { kind: 'reason-required'; to: ProjectStatus }
  /** The trial's status does not allow the change (a locked trial's protocol, say). */
  | {
      kind: 'not-allowed-in-status';
      projectId: string;
      status: ProjectStatus;
      allowed: ProjectStatus[];
    }
  | { kind: 'already-enrolled'; patientId: string };

export class CommandRefused extends Error {
  override readonly name = 'CommandRefused';
  constructor(readonly refusal: Refusal) {
    super(refusal.kind);
  }
}

/** The `source` of every event project-management writes. */
export const SOURCE = 'project-management';

/** Pure: what happens when `command` meets `state`. Returns the events, or throws CommandRefused. */
export function decide(command: Command, state: Project): ProjectEvent[] {
  return match(command)
    .with({ type: 'CreateProject' }, (c): ProjectEvent[] => {
      if (state.exists) {
        // The same request again creates nothing and is not an error; the same requestId with
        // other content, or another request, is.
        if (state.createdBy === c.requestId) {
          if (state.name === c.name) return [];
          throw new CommandRefused({ kind: 'request-conflict', requestId: c.requestId });
        }
        throw new CommandRefused({ kind: 'already-exists', projectId: c.projectId });
      }
      return [
        {
          ...decidedEnvelope({
            at: c.at,
            source: SOURCE,
            actor: c.actor,
            correlationId: c.correlationId ?? c.requestId,
            causationId: c.requestId,
          }),
          type: 'ProjectCreated',
          data: { projectId: c.projectId, name: c.name, requestId: c.requestId, status: 'planned' },
        },
      ];
    })
    .with({ type: 'ChangeStatus' }, (c): ProjectEvent[] => {
      if (!state.exists) throw new CommandRefused({ kind: 'not-found', projectId: c.projectId });
      const allowed = TRANSITIONS[state.status];
      if (!allowed.includes(c.to)) {
        throw new CommandRefused({
          kind: 'transition-not-allowed',
          from: state.status,
          to: c.to,
          allowed,
        });
      }
      // Every change of status says why, in the words of whoever made it: none is made up here.
      const reason = c.reason?.trim();
      if (!reason) throw new CommandRefused({ kind: 'reason-required', to: c.to });
      return [
        {
          ...decidedEnvelope({
            at: c.at,
            source: SOURCE,
            actor: c.actor,
            reason,
            correlationId: c.correlationId ?? newEventId(),
          }),
          type: 'ProjectStatusChanged',
          data: {
            projectId: c.projectId,
            from: state.status,
            to: c.to,
            effectiveAt: c.effectiveAt ?? c.at,
          },
        },
      ];
    })
    .exhaustive();
}

/** Pure: the state after `event`. */
export function evolve(state: Project, event: ProjectEvent): Project {
  return match(event)
    .with({ type: 'ProjectCreated' }, (e): Project => ({
      exists: true,
      projectId: e.data.projectId,
      name: e.data.name,
      status: e.data.status,
      createdBy: e.data.requestId,
      createdAt: e.recordedAt,
      updatedAt: e.recordedAt,
    }))
    .with({ type: 'ProjectStatusChanged' }, (e): Project =>
      state.exists ? { ...state, status: e.data.to, updatedAt: e.recordedAt } : state,
    )
    .exhaustive();
}

/** The Project aggregate for the generic command handler. */
export const projectDecider: Decider<Command, Project, ProjectEvent> = {
  initialState: initial,
  decide,
  evolve,
};
