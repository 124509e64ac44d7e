import { Streams } from '@cohort/contracts';
import type { ConsumerSpec } from '../subscriber/consumer.js';
import { redriveConsumer } from '../subscriber/redrive.js';
import { CHECKPOINTS_BUCKET, REQUEST_LEDGER_BUCKET } from '../topology.js';

/** A stream of the topology, by name. */
export type StreamName = (typeof Streams)[keyof typeof Streams]['name'];

/**
 * What one service does on NATS. Declared once, here: the services take their durables from
 * it, `cohort provision` creates them, and each service's NATS permissions are derived from it
 * (see natsPermissions). A service with durables is a subscriber: it also runs the dead-letter
 * capture and records its failures, which its permissions cover without saying so here.
 */
export interface ServiceNeeds {
  /**
   * Its durable consumers, by projection. Never rename one: the name is its position in the
   * stream, and its redrive durable (`<name>-redrive`) and FAILURES keys are named after it.
   */
  readonly durables?: Readonly<Record<string, ConsumerSpec>>;
  /** Streams it appends events to: it may publish on their subjects. */
  readonly appends?: readonly StreamName[];
  /** Streams it reads message by message (by sequence, or the last on a subject). */
  readonly reads?: readonly StreamName[];
  /** Streams it follows live: a core subscription on their subjects tells it when to read on. */
  readonly follows?: readonly StreamName[];
  /** KV buckets whose keys it creates, reads and updates. */
  readonly buckets?: readonly string[];
  /** It shows the pipeline: every stream's state and every consumer's progress (read only). */
  readonly observesPipeline?: boolean;
}

const durable = (stream: StreamName, name: string): ConsumerSpec => ({ stream, name });

/**
 * Every Cohort service and what it does on NATS. A new service is one entry here (its durables
 * and what it appends, reads and follows); its user, permissions and env file follow from it.
 */
export const SERVICES = {
  'epro-api': {
    appends: [Streams.REPORTS.name],
    // REPORTS: the event a deduplicated request became; PROJECTS: the trial-status view.
    reads: [Streams.REPORTS.name, Streams.PROJECTS.name],
    follows: [Streams.PROJECTS.name],
    buckets: [REQUEST_LEDGER_BUCKET],
  },
  'project-management': {
    // PROJECTS is its event store; CHECKPOINTS is where the EventStoreDB forwarder resumes.
    appends: [Streams.PROJECTS.name],
    reads: [Streams.PROJECTS.name],
    buckets: [CHECKPOINTS_BUCKET],
    durables: {
      portfolio: durable(Streams.PROJECTS.name, 'project-management-portfolio'),
      reportCounts: durable(Streams.REPORTS.name, 'project-management-report-counts'),
    },
  },
  edc: {
    durables: {
      caseReports: durable(Streams.REPORTS.name, 'edc-case-reports'),
      trialStatus: durable(Streams.PROJECTS.name, 'edc-trial-status'),
    },
  },
  monitoring: {
    // MONITORING holds its alerts and findings (its event store); REDRIVE takes what its
    // operators redrive from the dead-letter desk.
    appends: [Streams.MONITORING.name, Streams.REDRIVE.name],
    reads: [Streams.MONITORING.name],
    observesPipeline: true,
    durables: {
      trials: durable(Streams.PROJECTS.name, 'monitoring-trials'),
      diaries: durable(Streams.REPORTS.name, 'monitoring-diaries'),
      alerts: durable(Streams.MONITORING.name, 'monitoring-alerts'),
    },
  },
} as const satisfies Record<string, ServiceNeeds>;

export type ServiceName = keyof typeof SERVICES;

/** The durable that turns advisories into dead letters; every subscriber service shares it. */
export const CAPTURE_CONSUMER = 'cohort-deadletters';
/** Advisories are never dead themselves: the capture retries one until it is recorded. */
export const CAPTURE_DURABLE: ConsumerSpec = {
  stream: Streams.ADVISORIES.name,
  name: CAPTURE_CONSUMER,
  maxDeliver: -1,
};

/** The user of provisioning (`cohort provision`, and `cohort up` before the services start). */
export const ADMIN_USER = 'admin';
/** The user of the `cohort` CLI's other commands (the dead-letter desk). */
export const CLI_USER = 'cli';

/** Every NATS user: admin, the CLI, and one per service, named as the service. */
export function natsUsers(services: Record<string, ServiceNeeds> = SERVICES): string[] {
  return [ADMIN_USER, CLI_USER, ...Object.keys(services)];
}

/** A service's durables with the redrive durable of each: all that it pulls from but the capture. */
export function ownDurables(needs: ServiceNeeds): ConsumerSpec[] {
  return Object.values(needs.durables ?? {}).flatMap((d) => [d, redriveConsumer(d)]);
}

/** True for a service that runs projections (and so the dead-letter capture). */
export function isSubscriber(needs: ServiceNeeds): boolean {
  return Object.keys(needs.durables ?? {}).length > 0;
}

/**
 * Every durable of every service, with its redrive durable, and the capture durable: what
 * `cohort provision` creates. `settings` (SUBSCRIBER_* from the environment) apply to the
 * services' durables as the services apply them.
 */
export function allDurables(
  settings: Partial<Pick<ConsumerSpec, 'maxDeliver' | 'ackWaitMs' | 'maxAckPending'>> = {},
  services: Record<string, ServiceNeeds> = SERVICES,
): ConsumerSpec[] {
  const own = Object.values(services).flatMap((s) =>
    Object.values(s.durables ?? {}).map((d) => ({ ...d, ...settings })),
  );
  return [...own.flatMap((d) => [d, redriveConsumer(d)]), CAPTURE_DURABLE];
}
