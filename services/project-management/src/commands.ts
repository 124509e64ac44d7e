import {
  parseEnrolmentEvent,
  parseProjectLifecycleEvent,
  parseTrialProtocolEvent,
} from '@cohort/contracts';
import { commandHandler, type EventStore } from '@cohort/infra';
import { enrolmentDecider } from './enrolment.js';
import { projectDecider, type Command, type Project, type ProjectEvent } from './project.js';
import { protocolDecider } from './protocol.js';

/** Where each aggregate of project-management lives. */
export interface Stores {
  /** Projects: `projects.<id>`. */
  projects: EventStore;
  /** Trial protocols: `projects.<id>.protocol`. */
  protocols: EventStore;
  /** Enrolments: `projects.<trialId>.patients.<patientId>`. */
  enrolments: EventStore;
}

export interface Loaded {
  state: Project;
  version: number;
  events: { version: number; event: ProjectEvent }[];
}

/** Reads a project's events (parsed and upcast) and folds them into its state. */
export function load(store: EventStore, projectId: string): Promise<Loaded> {
  return commandHandler(store, projectDecider, parseProjectLifecycleEvent).load(projectId);
}

/**
 * Load, decide, append at the version that was loaded (or that the client expects): a
 * concurrent writer makes this throw ConcurrencyError, never a lost update.
 */
export function handle(
  store: EventStore,
  command: Command,
  expectedVersion?: number,
): Promise<{ state: Project; version: number; appended: ProjectEvent[] }> {
  return commandHandler(store, projectDecider, parseProjectLifecycleEvent).handle(
    command.projectId,
    command,
    { expectedVersion },
  );
}

/** The command handler of trial protocols. */
export const protocols = (store: EventStore) =>
  commandHandler(store, protocolDecider, parseTrialProtocolEvent);

/** The command handler of enrolments (aggregate id: `enrolmentId(trialId, patientId)`). */
export const enrolments = (store: EventStore) =>
  commandHandler(store, enrolmentDecider, parseEnrolmentEvent);
