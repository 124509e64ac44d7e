import { DeadLetterEvent } from './events/dead-letters.js';
import {
  AlertEvent,
  CohortEvent,
  ComplianceEvent,
  EnrolmentEvent,
  ProjectLifecycleEvent,
  ReportsEvent,
  TrialProtocolEvent,
} from './parse.js';
import {
  alertSubject,
  complianceSubject,
  deadLetterSubject,
  enrolmentSubject,
  projectSubject,
  protocolSubject,
  redriveSubject,
  reportSubject,
  Streams,
} from './subjects.js';
import type { EventSchema } from './versions.js';

/** The Cohort services that write or read events. */
export type CohortService = 'epro-api' | 'project-management' | 'edc' | 'monitoring';

/** One kind of subject: where its events live, what they are, who writes and who reads them. */
export interface Channel {
  /** The stream that stores the subject. */
  stream: keyof typeof Streams;
  /** Builds the subject from its parameters, in order (the function every writer uses). */
  subject: (...ids: string[]) => string;
  /** The names of the subject's parameters, in the order `subject` takes them. */
  params: readonly string[];
  /** The events on the subject, at their latest version (older versions are read through upcasters). */
  events: { options: readonly EventSchema[] };
  description: string;
  /** The services that write the subject's events. */
  sentBy: readonly CohortService[];
  /** The services whose consumers read them. */
  receivedBy: readonly CohortService[];
}

/**
 * Every subject Cohort's services exchange events on: the source of the published AsyncAPI
 * document. Each subject kind is one channel; `ADVISORIES` is left out, being JetStream's own.
 */
export const Channels = {
  reports: {
    stream: 'REPORTS',
    subject: reportSubject,
    params: ['trialId', 'patientId'],
    events: ReportsEvent,
    description: "One patient's diary: every questionnaire the patient submitted.",
    sentBy: ['epro-api'],
    receivedBy: ['edc', 'monitoring', 'project-management'],
  },
  projectLifecycle: {
    stream: 'PROJECTS',
    subject: projectSubject,
    params: ['trialId'],
    events: ProjectLifecycleEvent,
    description: "A trial project's lifecycle: its creation and every status change.",
    sentBy: ['project-management'],
    receivedBy: ['epro-api', 'edc', 'monitoring', 'project-management'],
  },
  trialProtocol: {
    stream: 'PROJECTS',
    subject: protocolSubject,
    params: ['trialId'],
    events: TrialProtocolEvent,
    description: "A trial's protocol: its diary schedule and safety rules.",
    sentBy: ['project-management'],
    receivedBy: ['monitoring', 'project-management'],
  },
  enrolments: {
    stream: 'PROJECTS',
    subject: enrolmentSubject,
    params: ['trialId', 'patientId'],
    events: EnrolmentEvent,
    description: "One patient's enrolment in a trial, at a site.",
    sentBy: ['project-management'],
    receivedBy: ['monitoring', 'project-management'],
  },
  alerts: {
    stream: 'MONITORING',
    subject: alertSubject,
    params: ['trialId', 'alertId'],
    events: AlertEvent,
    description: 'One safety alert, from the signal that raised it to its resolution.',
    sentBy: ['monitoring'],
    receivedBy: ['monitoring'],
  },
  compliance: {
    stream: 'MONITORING',
    subject: complianceSubject,
    params: ['trialId', 'patientId'],
    events: ComplianceEvent,
    description: "One patient's diary non-compliance findings.",
    sentBy: ['monitoring'],
    receivedBy: ['monitoring'],
  },
  deadLetters: {
    stream: 'DEADLETTERS',
    subject: deadLetterSubject,
    params: ['id'],
    events: DeadLetterEvent,
    description:
      "One dead letter's history: captured, redriven, discarded (by monitoring's dead-letter desk or the `cohort dlq` CLI).",
    sentBy: ['monitoring'],
    receivedBy: ['monitoring'],
  },
  redrive: {
    stream: 'REDRIVE',
    subject: redriveSubject,
    params: ['consumer'],
    events: CohortEvent,
    description:
      'Copies of dead letters, byte for byte, sent back to the one durable consumer that failed them.',
    sentBy: ['monitoring'],
    receivedBy: ['edc', 'monitoring', 'project-management'],
  },
} as const satisfies Record<string, Channel>;
