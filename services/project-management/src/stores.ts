import { projectSubject, protocolSubject, Streams } from '@cohort/contracts';
import {
  EventStoreDbEventStore,
  EventStoreDbSource,
  JetStreamEventStore,
  startForwarder,
  type Connection,
  type EventStore,
  type Logger,
} from '@cohort/infra';
import type { Stores } from './commands.js';
import { enrolmentSubjectOf } from './enrolment.js';

/** Each aggregate: its EventStoreDB stream prefix, and its subject in PROJECTS. */
const AGGREGATES = {
  projects: { prefix: 'project', subject: projectSubject },
  protocols: { prefix: 'protocol', subject: protocolSubject },
  enrolments: { prefix: 'enrolment', subject: enrolmentSubjectOf },
} as const satisfies Record<keyof Stores, { prefix: string; subject: (id: string) => string }>;

/**
 * The event stores of project-management's aggregates: JetStream by default; EventStoreDB when
 * `esdb` is given, with each aggregate's events forwarded to its subject in PROJECTS, where
 * every reader is. `close` stops the forwarders and the stores.
 */
export async function openStores(
  conn: Connection,
  esdb: string | undefined,
  log: Logger,
): Promise<{ stores: Stores; close: () => Promise<void> }> {
  const entries = Object.entries(AGGREGATES) as [keyof Stores, (typeof AGGREGATES)[keyof Stores]][];
  const stores = {} as Stores;
  const closers: (() => Promise<void>)[] = [];
  for (const [key, { prefix, subject }] of entries) {
    if (!esdb) {
      stores[key] = await JetStreamEventStore.open(conn, Streams.PROJECTS.name, subject);
      continue;
    }
    const store: EventStore = EventStoreDbEventStore.open(esdb, prefix);
    const source = EventStoreDbSource.open(esdb, prefix);
    const forwarder = startForwarder({ conn, source, log, name: key, subject });
    stores[key] = store;
    closers.push(async () => {
      await forwarder.stop();
      await source.close();
      await store.close();
    });
  }
  return { stores, close: async () => void (await Promise.all(closers.map((c) => c()))) };
}
