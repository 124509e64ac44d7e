import { DeadLetterDesk, runService, startOutboxRelay } from '@cohort/infra';
import { alertsView } from './alerts-view.js';
import { createApp } from './app.js';
import { diaries } from './diaries.js';
import { raiseSignals } from './raise.js';
import { openStores } from './stores.js';
import { trials } from './trials.js';
import { Watch } from './watch.js';

const now = () => new Date();

await runService({
  name: 'monitoring',
  port: 3004,
  database: true,
  // trials first: diaries reads the rules and sites it keeps.
  projections: [trials, diaries, alertsView],
  setup: async ({ conn, store: db, api, log, onStop, stopping }) => {
    const stores = await openStores(conn);
    const relay = startOutboxRelay({ store: db, handle: raiseSignals(stores, now), log });
    const watch = new Watch(db, stores, log, now);
    watch.start();
    onStop(() => relay.stop());
    onStop(() => watch.stop());
    const desk = await DeadLetterDesk.open(conn, log);
    return createApp({ ...api, db, stores, conn, desk, now, stopping });
  },
});
