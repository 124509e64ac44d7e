import { testTokens } from '@cohort/infra/testing';

/**
 * The identity provider of this test run: every service started by ServiceProcess trusts its
 * key set (`identity.env`), and the callers below carry tokens it signed.
 */
export const identity = await testTokens();

/** Callers a test acts as, each with the role its requests need, for every trial. */
export const as = {
  /** A site's device gateway: submits reports for any patient. */
  gateway: await identity.header({ sub: 'gateway-e2e', role: 'system', trials: ['*'] }),
  sponsor: await identity.header({ sub: 'dr.lee', role: 'sponsor', trials: ['*'] }),
  /** Reads projects, reports and summaries. */
  monitor: await identity.header({ sub: 'cra.kim', role: 'monitor', trials: ['*'] }),
  ops: await identity.header({ sub: 'ops.kim', role: 'ops', trials: [] }),
  /** Enrols patients. */
  coordinator: await identity.header({ sub: 'crc.ortiz', role: 'coordinator', trials: ['*'] }),
  /** Acknowledges and resolves safety alerts. */
  investigator: await identity.header({ sub: 'dr.ng', role: 'investigator', trials: ['*'] }),
};
