import { ProjectsEvent } from '@cohort/contracts';
import { ConcurrencyError, type EventStore } from '@cohort/infra';
import {
  decide,
  evolve,
  initial,
  type Command,
  type Project,
  type ProjectEvent,
} from './project.js';

export interface Loaded {
  state: Project;
  version: number;
  events: { version: number; event: ProjectEvent }[];
}

/** Reads a project's events and folds them into its state. */
export async function load(store: EventStore, projectId: string): Promise<Loaded> {
  const { version, events } = await store.read(projectId);
  const typed = events.map((e) => ({ version: e.version, event: e.event as ProjectEvent }));
  return { state: typed.reduce((s, e) => evolve(s, e.event), initial), version, events: typed };
}

/**
 * Load, decide, append at the version that was loaded (or that the client expects): a
 * concurrent writer makes this throw ConcurrencyError, never a lost update.
 */
export async function handle(
  store: EventStore,
  command: Command,
  expectedVersion?: number,
): Promise<{ state: Project; version: number; appended: ProjectEvent[] }> {
  const { state, version } = await load(store, command.projectId);
  if (expectedVersion !== undefined && expectedVersion !== version) {
    throw new ConcurrencyError(command.projectId, expectedVersion, version);
  }
  const events = decide(command, state);
  if (events.length === 0) return { state, version, appended: [] };
  // What the stream takes, every reader must be able to read: checked before it is stored.
  for (const e of events) ProjectsEvent.parse(e);
  const r = await store.append(command.projectId, events, version);
  return { state: events.reduce(evolve, state), version: r.version, appended: events };
}
