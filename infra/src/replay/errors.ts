import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';

/** The stream a replay names does not exist (or the server does not say it does). */
export class StreamNotFound extends Error {
  override readonly name = 'StreamNotFound';
  constructor(
    readonly stream: string,
    hint?: string,
  ) {
    super(`no stream ${stream}${hint ? ` (${hint})` : ''}`);
  }
}

/** A replay's bounds that cannot hold together: a start after the end, a time that is not one. */
export class BadRange extends Error {
  override readonly name = 'BadRange';
}

/** Whether a JetStream API error says the stream does not exist. */
export function isStreamNotFound(e: unknown): boolean {
  return e instanceof JetStreamApiError && e.code === JetStreamApiCodes.StreamNotFound;
}
