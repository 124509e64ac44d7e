import {
  parseDeadLetterEvent,
  parseProjectsEvent,
  parseReportsEvent,
  Streams,
  type EventParser,
} from '@cohort/contracts';

/**
 * The parser of each stream, by name: a reader parses (and upcasts) a message with the union of
 * the stream it reads, so an event of a type that stream does not hold is invalid.
 */
export const STREAM_PARSERS = {
  [Streams.REPORTS.name]: parseReportsEvent,
  [Streams.PROJECTS.name]: parseProjectsEvent,
  [Streams.DEADLETTERS.name]: parseDeadLetterEvent,
} as const;

/** A stream of events, by name. */
export type EventStream = keyof typeof STREAM_PARSERS;

/** The events of stream `S`, at their latest version. */
export type StreamEvent<S extends EventStream> =
  (typeof STREAM_PARSERS)[S] extends EventParser<infer E> ? E : never;
