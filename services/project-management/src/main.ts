import { projectSubject, Streams } from '@cohort/contracts';
import {
  EventStoreDbEventStore,
  EventStoreDbSource,
  JetStreamEventStore,
  runService,
  startForwarder,
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
    if (esdb) {
      // Every reader reads PROJECTS in JetStream: what EventStoreDB holds is forwarded there.
      const source = EventStoreDbSource.open(esdb, 'project');
      const forwarder = startForwarder({ conn, source, log });
      onStop(async () => {
        await forwarder.stop();
        await source.close();
      });
    }
    return createApp({ ...api, store, db });
  },
});
