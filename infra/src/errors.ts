import { PermissionViolationError, RequestError, TimeoutError } from '@nats-io/transport-node';

/**
 * Why a publish did not store the message. `retryable` errors mean "try again later with the
 * same Nats-Msg-Id" (HTTP 503); the message may or may not have been stored, and dedup makes the
 * retry safe.
 */
export abstract class PublishError extends Error {
  abstract readonly retryable: boolean;
}

/** The client is not connected to any server right now. */
export class NotConnectedError extends PublishError {
  override readonly name = 'NotConnectedError';
  readonly retryable = true;
  constructor() {
    super('not connected to NATS');
  }
}

/** No stream listens on the subject, or JetStream is not answering at all. */
export class StreamUnavailableError extends PublishError {
  override readonly name = 'StreamUnavailableError';
  readonly retryable = true;
  constructor(readonly subject: string) {
    super(`no JetStream stream answered for ${subject}`);
  }
}

/** No PubAck within the timeout: the message may have been stored. */
export class PublishTimeoutError extends PublishError {
  override readonly name = 'PublishTimeoutError';
  readonly retryable = true;
  constructor(
    readonly subject: string,
    readonly timeoutMs: number,
  ) {
    super(`no PubAck for ${subject} within ${timeoutMs} ms`);
  }
}

/** The stream is at its limits (discard new): nothing more is accepted until it has room. */
export class StreamFullError extends PublishError {
  override readonly name = 'StreamFullError';
  readonly retryable = true;
  constructor(
    readonly subject: string,
    readonly description: string,
  ) {
    super(`stream refused ${subject}: ${description}`);
  }
}

/** An optimistic-concurrency expectation failed: someone else wrote first. */
export class WrongLastSequenceError extends PublishError {
  override readonly name = 'WrongLastSequenceError';
  readonly retryable = false;
  constructor(
    readonly subject: string,
    readonly description: string,
  ) {
    super(`${subject}: ${description}`);
  }
}

/** Any other refusal from JetStream. */
export class PublishRejectedError extends PublishError {
  override readonly name = 'PublishRejectedError';
  readonly retryable = false;
  constructor(
    readonly subject: string,
    readonly code: number,
    readonly errCode: number,
    readonly description: string,
  ) {
    super(`JetStream refused ${subject}: ${description} (${code}/${errCode})`);
  }
}

/**
 * The connection's NATS user may not publish on the subject: the server refused it (a
 * permission violation). Retrying does not help; the user's permissions (derived from the
 * topology) or the caller are wrong.
 */
export class PublishNotAllowedError extends PublishError {
  override readonly name = 'PublishNotAllowedError';
  readonly retryable = false;
  constructor(readonly subject: string) {
    super(`this NATS user may not publish on ${subject}`);
  }
}

/**
 * True when NATS refused an operation for want of permission: a permission violation, as the
 * client reports it directly or as the cause of a failed request, or a PublishNotAllowedError.
 */
export function isPermissionViolation(e: unknown): boolean {
  return (
    e instanceof PublishNotAllowedError ||
    e instanceof PermissionViolationError ||
    (e instanceof Error && e.cause instanceof PermissionViolationError)
  );
}

/**
 * The NATS client's own errors, as the PublishError a caller can act on: a timeout or a server
 * that does not answer is retryable. Anything else is returned unchanged.
 */
export function asPublishError(e: unknown, subject: string): unknown {
  if (e instanceof PublishError) return e;
  if (isPermissionViolation(e)) return new PublishNotAllowedError(subject);
  if (e instanceof TimeoutError || (e instanceof RequestError && e.cause instanceof TimeoutError)) {
    return new PublishTimeoutError(subject, 0);
  }
  if (e instanceof RequestError && e.isNoResponders()) return new StreamUnavailableError(subject);
  if (e instanceof Error && /timeout|no responders|closed|disconnect/i.test(e.message)) {
    return new StreamUnavailableError(subject);
  }
  return e;
}

/** Thrown by provision() when a live stream differs in a way that cannot be updated in place. */
export class IncompatibleTopologyError extends Error {
  override readonly name = 'IncompatibleTopologyError';
  constructor(
    readonly resource: string,
    readonly differences: { field: string; live: unknown; wanted: unknown }[],
  ) {
    super(
      `${resource} exists with a configuration that cannot be changed in place: ` +
        differences
          .map((d) => `${d.field} is ${JSON.stringify(d.live)}, wanted ${JSON.stringify(d.wanted)}`)
          .join('; ') +
        '. Migrate the data to a new stream, or change the topology back.',
    );
  }
}
