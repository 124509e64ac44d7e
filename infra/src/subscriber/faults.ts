import type { SubscriberOptions } from './options.js';

/**
 * Test-only fault injection from the environment: `COHORT_FAULT_KILL_AFTER_COMMIT=<n>` kills
 * the process with SIGKILL after its n-th commit, before that batch is acked.
 */
export function faultsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): Pick<SubscriberOptions, 'afterCommit'> {
  const n = Number(env.COHORT_FAULT_KILL_AFTER_COMMIT);
  if (!Number.isInteger(n) || n < 1) return {};
  return {
    afterCommit: (batch) => {
      if (batch >= n) process.kill(process.pid, 'SIGKILL');
    },
  };
}
