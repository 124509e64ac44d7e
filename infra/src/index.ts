export {
  connect,
  DEFAULT_NATS_URL,
  natsOptionsFromEnv,
  type Connection,
  type ConnectOptions,
} from './connection.js';
export {
  IncompatibleTopologyError,
  NotConnectedError,
  PublishError,
  PublishRejectedError,
  PublishTimeoutError,
  StreamFullError,
  StreamUnavailableError,
  WrongLastSequenceError,
} from './errors.js';
export {
  DEFAULT_PUBLISH_TIMEOUT_MS,
  Publisher,
  type PubAck,
  type PublishOptions,
} from './publisher.js';
export {
  contentHash,
  IdempotentPublisher,
  RequestConflictError,
  type PublishOnceInput,
  type PublishOnceResult,
} from './idempotent-publisher.js';
export {
  DEFAULT_DUPLICATE_WINDOW_MS,
  provision,
  REQUEST_LEDGER_BUCKET,
  topology,
  topologyOptionsFromEnv,
  type BucketSpec,
  type ProvisionAction,
  type StreamSpec,
  type Topology,
  type TopologyOptions,
} from './topology.js';
export { createLogger, type Logger } from './logger.js';
export { ServiceMetrics } from './metrics.js';
export {
  httpMetrics,
  listen,
  mountOps,
  onShutdown,
  type ReadinessCheck,
  type RunningServer,
} from './http.js';
