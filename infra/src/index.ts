export {
  connect,
  DEFAULT_NATS_URL,
  inboxPrefixOf,
  natsOptionsFromEnv,
  type Connection,
  type ConnectOptions,
} from './connection.js';
export {
  ADMIN_USER,
  allDurables,
  CAPTURE_DURABLE,
  CLI_USER,
  natsUsers,
  SERVICES,
  type ServiceName,
  type ServiceNeeds,
  type StreamName,
} from './access/services.js';
export {
  FORBIDDEN_TO_ALL,
  natsPermissions,
  type SubjectPermissions,
  type UserPermissions,
} from './access/permissions.js';
export {
  BCRYPT_COST,
  natsConfigFile,
  writeNatsConfig,
  type NatsConfigOptions,
  type NatsConfigResult,
} from './access/nats-config.js';
export {
  credentialsFile,
  natsDir,
  readCredentialsFile,
  resolveCredentials,
  type NatsCredentials,
} from './access/credentials.js';
export { missingTopology, provisionOrVerify, type TopologyCheck } from './topology-check.js';
export {
  IncompatibleTopologyError,
  isPermissionViolation,
  NotConnectedError,
  PublishError,
  PublishNotAllowedError,
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
  CHECKPOINTS_BUCKET,
  FAILURES_BUCKET,
  REQUEST_LEDGER_BUCKET,
  topology,
  topologyOptionsFromEnv,
  streamReady,
  type BucketSpec,
  type ProvisionAction,
  type StreamSpec,
  type Topology,
  type TopologyOptions,
} from './topology.js';
export { createLogger, type Logger } from './logger.js';
export { ServiceMetrics } from './metrics.js';
export {
  answer,
  createApi,
  createRouter,
  DEFAULT_BODY_LIMIT_BYTES,
  type ApiOptions,
} from './http/api.js';
export { conflict, HttpError, notFound, unavailable, validationFailed } from './http/errors.js';
export type { ErrorMapper } from './http/error-map.js';
export {
  errorResponses,
  ErrorBody,
  jsonBody,
  jsonContent,
  ValidationErrorBody,
} from './http/openapi.js';
export { databaseReady, natsReady, type ReadinessCheck } from './http/ops.js';
export {
  HEADERS_TIMEOUT_MS,
  KEEP_ALIVE_TIMEOUT_MS,
  listen,
  REQUEST_TIMEOUT_MS,
  type RunningServer,
} from './http/server.js';
export { runService, type ServiceContext, type ServiceDefinition } from './service/run-service.js';
export { exitWhenLost, onShutdown } from './service/shutdown.js';
export { ConfigError, loadConfig } from './config.js';
export {
  openStore,
  storeOptionsFromEnv,
  type Migration,
  type Sql,
  type SqlStore,
  type StoreOptions,
} from './store/sql-store.js';
export {
  consumerConfig,
  DEFAULT_ACK_WAIT_MS,
  DEFAULT_BATCH_SIZE,
  DEFAULT_MAX_ACK_PENDING,
  DEFAULT_MAX_DELIVER,
  ensureConsumer,
  type ConsumerSpec,
} from './subscriber/consumer.js';
export {
  DEFAULT_BACKOFF_MS,
  DEFAULT_LINGER_MS,
  subscriberOptionsFromEnv,
  type SubscriberOptions,
} from './subscriber/options.js';
export { faultsFromEnv } from './subscriber/faults.js';
export { INBOX_MIGRATIONS, insertInbox } from './subscriber/inbox.js';
export { failureKey, type FailureRecord } from './subscriber/failures.js';
export { redriveConsumer, RedriveHeaders } from './subscriber/redrive.js';
export { Subscriber } from './subscriber/pull-loop.js';
export { SubscriberMetrics } from './subscriber/metrics.js';
export type { Envelope, EventMeta, Projection } from './subscriber/projection.js';
export {
  CAPTURE_CONSUMER,
  DEAD_LETTER_STATUSES,
  DeadLetterConflictError,
  DeadLetterDesk,
  DeadLetterNotFoundError,
  DEFAULT_REDRIVE_RATE,
  type Change,
  type DeadLetter,
  type DeadLetterChange,
  type DeadLetterStatus,
} from './deadletters/desk.js';
export { deadLetterRoutes, summary as deadLetterSummary } from './deadletters/routes.js';
export { ConcurrencyError, type EventStore, type StoredEvent } from './event-store/port.js';
export { fold, type Decider } from './event-store/decider.js';
export {
  commandHandler,
  DecidedEventInvalidError,
  StoredEventInvalidError,
  type CommandHandler,
  type Handled,
  type HandleOptions,
  type Loaded,
} from './event-store/command-handler.js';
export type { ForwardSource, SourceEvent } from './event-store/forward-source.js';
export {
  DEFAULT_FORWARDER_BACKOFF_MS,
  ForwardGapError,
  PROJECTS_FORWARDER,
  startForwarder,
  type ForwarderOptions,
  type RunningForwarder,
} from './event-store/forwarder.js';
export { EventStoreDbSource } from './event-store/eventstoredb-source.js';
export { JetStreamEventStore } from './event-store/jetstream-event-store.js';
export { EventStoreDbEventStore } from './event-store/eventstoredb-event-store.js';
export { LastPerSubjectView } from './views/last-per-subject.js';
export { startProjections, type RunningProjections } from './subscriber/service.js';
export { ALL_TRIALS, actorOf, inTrial, type Caller } from './auth/caller.js';
export { authorized, isPublicPath } from './auth/middleware.js';
export { authorize, Forbidden, POLICY, type Action, type Resource } from './auth/policy.js';
export { AuthConfigError, AuthEnv, tokenKeys, type TokenKeys } from './auth/keys.js';
export { classifyFailure, PermanentError, type FailureClass } from './subscriber/errors.js';
export { isDatabaseUnavailable } from './store/database-errors.js';
export { STREAM_PARSERS, type EventStream, type StreamEvent } from './stream-events.js';
export {
  enqueue,
  outboxMigration,
  startOutboxRelay,
  type OutboxItem,
  type OutboxRelay,
} from './outbox/outbox.js';
export { pipelineHealth, type ConsumerHealth, type StreamHealth } from './operations/pipeline.js';
