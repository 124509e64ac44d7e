export { NatsServer } from './nats-server.js';
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
