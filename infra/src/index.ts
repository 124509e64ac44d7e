/**
 * What a service is built from. Tests, benchmarks and the CLI reach further, through
 * `@cohort/infra/testing` and the modules themselves.
 */
export { type Connection } from './connection.js';
export { SERVICES } from './access/services.js';
export { Publisher } from './publisher.js';
export {
  IdempotentPublisher,
  RequestConflictError,
  type PublishOnceInput,
  type PublishOnceResult,
} from './idempotent-publisher.js';
export { streamReady } from './topology.js';
export { type Logger } from './logger.js';
export { createApi, type ApiOptions } from './http/api.js';
export { conflict, HttpError, notFound, validationFailed } from './http/errors.js';
export { errorResponses, jsonBody, jsonContent } from './http/openapi.js';
export { runService, type ServiceContext, type ServiceDefinition } from './service/run-service.js';
export { type Migration, type Sql } from './store/sql-store.js';
export { type ConsumerSpec } from './subscriber/consumer.js';
export { type Envelope, type EventMeta, type Projection } from './subscriber/projection.js';
export { DeadLetterDesk } from './deadletters/desk.js';
export { deadLetterRoutes } from './deadletters/routes.js';
export { type EventStore } from './event-store/port.js';
export { type Decider } from './event-store/decider.js';
export {
  commandHandler,
  type CommandHandler,
  type Handled,
  type HandleOptions,
} from './event-store/command-handler.js';
export { startForwarder } from './event-store/forwarder.js';
export { EventStoreDbSource } from './event-store/eventstoredb-source.js';
export { JetStreamEventStore } from './event-store/jetstream-event-store.js';
export { EventStoreDbEventStore } from './event-store/eventstoredb-event-store.js';
export { LastPerSubjectView } from './views/last-per-subject.js';
export { actorOf, inTrial } from './auth/caller.js';
export { authorized } from './auth/middleware.js';
export { enqueue, outboxMigration, startOutboxRelay, type OutboxItem } from './outbox/outbox.js';
export { pipelineHealth } from './operations/pipeline.js';
