import { parseProjectLifecycleEvent } from '@cohort/contracts';
import { commandHandler, type EventStore } from '@cohort/infra';
import { projectDecider, type Command, type Project, type ProjectEvent } from './project.js';

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
