import type { Logger } from '../logger.js';
import type { SqlStore } from '../store/sql-store.js';

/**
 * Runs `stop` once on SIGTERM or SIGINT, then exits 0 (1 if stopping failed). A second signal
 * exits at once.
 */
export function onShutdown(log: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info({ signal }, 'shutting down');
    stop().then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (e: unknown) => {
        log.error({ err: e }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}

/**
 * Exits the process (code 1) if its database is lost for good, so that whatever supervises it
 * starts it again. Nothing is lost: messages are acked only after their commit, so the ones in
 * hand are redelivered.
 */
export function exitWhenLost(store: Pick<SqlStore, 'lost'>, log: Logger): void {
  void store.lost.then((e) => {
    log.error({ err: e }, 'database lost; exiting to be restarted');
    process.exit(1);
  });
}
