import {
  enrolmentSubject,
  decidedEnvelope,
  type Actor,
  type EnrolmentEvent,
  type PatientEnrolled,
  type ProjectStatus,
} from '@cohort/contracts';
import type { Decider } from '@cohort/infra';
import { CommandRefused, SOURCE } from './project.js';

/** A patient's enrolment in a trial. */
export type Enrolment =
  { enrolled: false } | { enrolled: true; siteId: string; enrolledAt: string; requestId: string };

export const notEnrolled: Enrolment = { enrolled: false };

/** Statuses in which a trial takes new patients. */
export const ENROLLING: ProjectStatus[] = ['enrolling', 'active'];

export interface Enrol {
  type: 'Enrol';
  trialId: string;
  patientId: string;
  siteId: string;
  /** When the patient was enrolled, if the client says (backdated); `at` otherwise. */
  enrolledAt?: string;
  /** The client's idempotency key: the same enrolment retried carries the same one. */
  requestId: string;
  /** The trial's status when the command was decided (the project is another aggregate). */
  projectStatus: ProjectStatus | undefined;
  actor: Actor;
  at: string;
  correlationId?: string;
}

/**
 * Pure: the enrolment, once per patient. The same request again decides nothing; the same
 * requestId with other content, or another request for an enrolled patient, is refused; so is
 * a trial that is not enrolling or active.
 */
export function decideEnrolment(c: Enrol, state: Enrolment): PatientEnrolled[] {
  if (state.enrolled) {
    if (state.requestId !== c.requestId) {
      throw new CommandRefused({ kind: 'already-enrolled', patientId: c.patientId });
    }
    const sameTime = c.enrolledAt === undefined || c.enrolledAt === state.enrolledAt;
    if (state.siteId !== c.siteId || !sameTime) {
      throw new CommandRefused({ kind: 'request-conflict', requestId: c.requestId });
    }
    return [];
  }
  if (c.projectStatus === undefined) {
    throw new CommandRefused({ kind: 'not-found', projectId: c.trialId });
  }
  if (!ENROLLING.includes(c.projectStatus)) {
    throw new CommandRefused({
      kind: 'not-allowed-in-status',
      projectId: c.trialId,
      status: c.projectStatus,
      allowed: ENROLLING,
    });
  }
  const enrolledAt = c.enrolledAt ?? c.at;
  return [
    {
      ...decidedEnvelope({
        at: c.at,
        occurredAt: enrolledAt,
        source: SOURCE,
        actor: c.actor,
        correlationId: c.correlationId ?? c.requestId,
        causationId: c.requestId,
      }),
      type: 'PatientEnrolled',
      data: {
        trialId: c.trialId,
        patientId: c.patientId,
        siteId: c.siteId,
        enrolledAt,
        requestId: c.requestId,
      },
    },
  ];
}

/** Pure: the enrolment after `event`. */
export function evolveEnrolment(_state: Enrolment, event: EnrolmentEvent): Enrolment {
  return {
    enrolled: true,
    siteId: event.data.siteId,
    enrolledAt: event.data.enrolledAt,
    requestId: event.data.requestId,
  };
}

export const enrolmentDecider: Decider<Enrol, Enrolment, EnrolmentEvent> = {
  initialState: notEnrolled,
  decide: decideEnrolment,
  evolve: evolveEnrolment,
};

/** The enrolment aggregate's id: trial and patient, which are subject tokens and hold no dot. */
export function enrolmentId(trialId: string, patientId: string): string {
  return `${trialId}.${patientId}`;
}

/** The subject of the enrolment aggregate `id` (see `enrolmentId`). */
export function enrolmentSubjectOf(id: string): string {
  const [trialId = '', patientId = ''] = id.split('.');
  return enrolmentSubject(trialId, patientId);
}
