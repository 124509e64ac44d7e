import type { Role } from '@cohort/contracts';
import { inTrial, type Caller } from './caller.js';

/**
 * Who may do what: the one table every route is checked against. `trial`: the caller's
 * `trials` claim must hold the trial (or `*`). `ownOnly`: those roles may act only on their own
 * diary (the resource's patientId is their `sub`). The README's table is this one.
 */
export const POLICY = {
  'reports.submit': {
    roles: ['patient', 'system'],
    trial: true,
    ownOnly: ['patient'],
    what: 'submit a diary entry (POST /v1/reports)',
  },
  'reports.read': {
    roles: ['investigator', 'coordinator', 'monitor', 'sponsor', 'patient'],
    trial: true,
    ownOnly: ['patient'],
    what: "read a trial's or a patient's reports (edc)",
  },
  'trials.summary': {
    roles: ['investigator', 'coordinator', 'monitor', 'sponsor'],
    trial: true,
    ownOnly: [],
    what: "read a trial's summary (edc)",
  },
  'projects.create': {
    roles: ['sponsor'],
    trial: true,
    ownOnly: [],
    what: 'create a trial project',
  },
  'projects.change-status': {
    roles: ['sponsor'],
    trial: true,
    ownOnly: [],
    what: "change a project's status",
  },
  'projects.read': {
    roles: ['sponsor', 'monitor', 'investigator', 'coordinator'],
    trial: true,
    ownOnly: [],
    what: 'read a project, its history, protocol and enrolled patients',
  },
  'projects.list': {
    roles: ['sponsor', 'monitor', 'investigator', 'coordinator'],
    trial: false,
    ownOnly: [],
    what: 'list the portfolio: only the projects of the trials in `trials`',
  },
  'protocol.set': {
    roles: ['sponsor'],
    trial: true,
    ownOnly: [],
    what: "set a trial's diary schedule and safety rules",
  },
  'patients.enrol': {
    roles: ['coordinator', 'investigator'],
    trial: true,
    ownOnly: [],
    what: 'enrol a patient at a site',
  },
  'monitoring.read': {
    roles: ['monitor', 'investigator', 'coordinator', 'sponsor'],
    trial: true,
    ownOnly: [],
    what: "read a trial's compliance, patients' timelines, submissions and findings (monitoring)",
  },
  'monitoring.list': {
    roles: ['monitor', 'investigator', 'coordinator', 'sponsor'],
    trial: false,
    ownOnly: [],
    what: 'list trials and alerts (monitoring): only those of the trials in `trials`',
  },
  'alerts.act': {
    roles: ['investigator', 'coordinator'],
    trial: true,
    ownOnly: [],
    what: 'acknowledge and resolve safety alerts',
  },
  'operations.read': {
    roles: ['ops'],
    trial: false,
    ownOnly: [],
    what: "read the pipeline's health: consumer lag, streams (monitoring)",
  },
  'dashboard.watch': {
    roles: ['monitor', 'investigator', 'coordinator', 'sponsor', 'ops'],
    trial: false,
    ownOnly: [],
    what: "follow the dashboard's live updates (they carry no data)",
  },
  'deadletters.read': {
    roles: ['ops'],
    trial: false,
    ownOnly: [],
    what: 'list and show dead letters',
  },
  'deadletters.change': {
    roles: ['ops'],
    trial: false,
    ownOnly: [],
    what: 'redrive or discard dead letters',
  },
  'streams.replay': {
    roles: ['sponsor', 'monitor'],
    trial: true,
    ownOnly: [],
    what: "replay a stream's events (cohort replay, cohort stream get)",
  },
} as const satisfies Record<
  string,
  { roles: readonly Role[]; trial: boolean; ownOnly: readonly Role[]; what: string }
>;
export type Action = keyof typeof POLICY;

/** What an action is done to: the trial, and the patient's diary where there is one. */
export interface Resource {
  trialId?: string;
  patientId?: string;
}

/** A valid token that does not allow the action. */
export class Forbidden extends Error {
  override readonly name = 'Forbidden';
  constructor(readonly action: Action) {
    super(`this token does not allow: ${POLICY[action].what}`);
  }
}

/**
 * Throws Forbidden unless `caller` may do `action` to `resource`. Decided from the token and
 * the request alone, never from stored data: a refusal tells nothing of whether the trial or
 * patient exists.
 */
export function authorize(caller: Caller, action: Action, resource: Resource = {}): void {
  const rule = POLICY[action];
  const roles: readonly Role[] = rule.roles;
  if (!roles.includes(caller.role)) throw new Forbidden(action);
  if (rule.trial && (resource.trialId === undefined || !inTrial(caller, resource.trialId))) {
    throw new Forbidden(action);
  }
  const ownOnly: readonly Role[] = rule.ownOnly;
  if (ownOnly.includes(caller.role) && resource.patientId !== caller.id) {
    throw new Forbidden(action);
  }
}
