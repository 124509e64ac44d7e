export { NatsServer } from './nats-server.js';
export { NatsCluster } from './nats-cluster.js';
export { SecuredNats } from './secured-nats.js';
export { freePort } from './free-port.js';
export { testStores, type TestStore } from './stores.js';
export { reportSubmitted, reportSubmittedV1 } from './events.js';
export { trialsIn } from './projects.js';
export { apiContractProblems, conformingToOpenApi } from './openapi.js';
export {
  deciderSpec,
  matches,
  type DeciderSpec,
  type DeciderSpecOptions,
  type Expected,
  type GivenSpec,
  type WhenSpec,
} from './decider-spec.js';
export {
  authenticatedAs,
  testTokens,
  TEST_AUDIENCE,
  TEST_ISSUER,
  type TestTokens,
  type TokenClaims,
} from './tokens.js';
export { PostgresServer } from './postgres-server.js';
export { readModelRows } from './read-models.js';
// The runtime's parts that tests and benchmarks drive directly.
export { connect } from '../connection.js';
export { natsConfigFile } from '../access/nats-config.js';
export { natsDir, readCredentialsFile } from '../access/credentials.js';
export { contentHash } from '../idempotent-publisher.js';
export { provision, REQUEST_LEDGER_BUCKET, topology } from '../topology.js';
export { createLogger } from '../logger.js';
export { ServiceMetrics } from '../metrics.js';
export { DEFAULT_BODY_LIMIT_BYTES } from '../http/api.js';
export { HEADERS_TIMEOUT_MS, KEEP_ALIVE_TIMEOUT_MS, listen } from '../http/server.js';
export { loadConfig } from '../config.js';
export { openStore, type SqlStore } from '../store/sql-store.js';
export { INBOX_MIGRATIONS, insertInbox } from '../subscriber/inbox.js';
export { Subscriber } from '../subscriber/pull-loop.js';
export { SubscriberMetrics } from '../subscriber/metrics.js';
export { startProjections, type RunningProjections } from '../subscriber/service.js';
export { AuthEnv, tokenKeys, type TokenKeys } from '../auth/keys.js';
export { verifyToken } from '../auth/verify.js';
export { TOKEN_CACHE_MAX_ENTRIES, VerifiedTokens } from '../auth/token-cache.js';
export { type OutboxRelay } from '../outbox/outbox.js';
export { SERVICE_ENV_VARIABLES } from '../service/run-service.js';
export { Rebuild } from '../rebuild/rebuild.js';
