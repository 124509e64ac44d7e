import { projectSubject, Streams } from '@cohort/contracts';
import {
  EventStoreDbEventStore,
  JetStreamEventStore,
  runService,
  type EventStore,
} from '@cohort/infra';
import { z } from 'zod';
import { createApp } from './app.js';
import { portfolio, reportCounts } from './portfolio.js';

await runService({
  name: 'project-management',
  port: 3002,
  env: { EVENTSTORE_CONNECTION_STRING: z.string().min(1).optional() },
  database: true,
  projections: [portfolio, reportCounts],
  setup: async ({ conn, config, store: db, api, log, onStop }) => {
    // JetStream is the default event store; EVENTSTORE_CONNECTION_STRING switches to EventStoreDB.
    const esdb = config.EVENTSTORE_CONNECTION_STRING;
    const store: EventStore = esdb
      ? EventStoreDbEventStore.open(esdb, 'project')
      : await JetStreamEventStore.open(conn, Streams.PROJECTS.name, projectSubject);
    onStop(() => store.close());
    log.info({ eventStore: esdb ? 'eventstoredb' : 'jetstream' }, 'event store open');
    return createApp({ ...api, store, db });
  },
});
