import { runService } from '@cohort/infra';
import { createApp } from './app.js';
import { projectManagementEnv } from './env.js';
import { portfolio, reportCounts } from './portfolio.js';
import { openStores } from './stores.js';

await runService({
  name: 'project-management',
  port: 3002,
  env: projectManagementEnv,
  database: true,
  projections: [portfolio, reportCounts],
  setup: async ({ conn, config, store: db, api, log, onStop }) => {
    // JetStream is the default event store; EVENTSTORE_CONNECTION_STRING switches to EventStoreDB.
    const esdb = config.EVENTSTORE_CONNECTION_STRING;
    const { stores, close } = await openStores(conn, esdb, log);
    onStop(close);
    log.info({ eventStore: esdb ? 'eventstoredb' : 'jetstream' }, 'event stores open');
    return createApp({ ...api, stores, db });
  },
});
