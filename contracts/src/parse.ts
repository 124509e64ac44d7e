import { z } from 'zod';
import { AnyEnvelope } from './envelope.js';
import { ProjectCreated, ProjectStatusChanged } from './events/projects.js';
import { ReportSubmitted } from './events/report-submitted.js';
import { DeadLetterEvent } from './events/dead-letters.js';
import { upcast } from './upcasters.js';

/** Every event a consumer of `REPORTS` may receive, at its latest version. */
export const ReportsEvent = z.discriminatedUnion('type', [ReportSubmitted]);
export type ReportsEvent = z.infer<typeof ReportsEvent>;

/** Every event of `PROJECTS`, at its latest version. */
export const ProjectsEvent = z.discriminatedUnion('type', [ProjectCreated, ProjectStatusChanged]);
export type ProjectsEvent = z.infer<typeof ProjectsEvent>;

/** Every event Cohort's subscribers know, at its latest version: those of every stream. */
export const CohortEvent = z.discriminatedUnion('type', [
  ...ReportsEvent.options,
  ...ProjectsEvent.options,
]);
export type CohortEvent = z.infer<typeof CohortEvent>;

/** One failing field: `path` is dotted (`data.answers.0.itemId`), `message` is human-readable. */
export interface FieldIssue {
  path: string;
  message: string;
}

/**
 * Why a payload is not an event:
 * - `json`: not JSON at all;
 * - `envelope`: JSON, but not an envelope;
 * - `unknown-type`: an envelope whose type/version this build does not know;
 * - `data`: a known type whose data does not match its schema.
 */
export type ParseErrorKind = 'json' | 'envelope' | 'unknown-type' | 'data';

export interface ParseError {
  kind: ParseErrorKind;
  message: string;
  issues: FieldIssue[];
}

export type ParseResult<E> = { ok: true; event: E } | { ok: false; error: ParseError };

/** Flattens zod issues to `{ path, message }` pairs for error responses and logs. */
export function fieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((i) => ({
    path: i.path.map(String).join('.'),
    message: i.message,
  }));
}

type EventUnion = z.ZodDiscriminatedUnion<
  readonly (z.ZodObject<{ type: z.ZodLiteral<string>; version: z.ZodLiteral<number> }> &
    z.ZodType)[],
  'type'
>;

/** Reads stored events of one union (a stream's, or all of them): see `parseEvent`. */
export type EventParser<E> = (input: unknown) => ParseResult<E>;

/**
 * A parser for the events of `union`: bytes, text or an already-decoded value in, the typed
 * event out, upcast to the latest version of its type. Never throws: a consumer terminates what
 * returns `ok: false`.
 */
export function eventParser<U extends EventUnion>(union: U): EventParser<z.infer<U>> {
  const knownTypes = new Map<string, number>(
    union.options.map((o) => [o.shape.type.value, o.shape.version.value]),
  );
  return (input) => {
    let value: unknown = input;
    if (typeof input === 'string' || input instanceof Uint8Array) {
      const text = typeof input === 'string' ? input : new TextDecoder().decode(input);
      try {
        value = JSON.parse(text);
      } catch (e) {
        return {
          ok: false,
          error: { kind: 'json', message: `not JSON: ${(e as Error).message}`, issues: [] },
        };
      }
    }
    value = upcast(value);
    // The common case first: one pass over a valid event. Only a failure pays for diagnosis.
    const parsed = union.safeParse(value);
    if (parsed.success) return { ok: true, event: parsed.data };
    const envelope = AnyEnvelope.safeParse(value);
    if (!envelope.success) {
      const issues = fieldIssues(envelope.error);
      return { ok: false, error: { kind: 'envelope', message: 'not an event envelope', issues } };
    }
    const { type, version } = envelope.data;
    const latest = knownTypes.get(type);
    if (latest === undefined || version > latest) {
      return {
        ok: false,
        error: {
          kind: 'unknown-type',
          message: `unknown event ${type} v${version}`,
          issues: [{ path: 'type', message: `unknown event ${type} v${version}` }],
        },
      };
    }
    const issues = fieldIssues(parsed.error);
    return { ok: false, error: { kind: 'data', message: `invalid ${type} v${version}`, issues } };
  };
}

/** Any event Cohort's subscribers know (see `eventParser`). */
export const parseEvent: EventParser<CohortEvent> = eventParser(CohortEvent);
/** Events of `REPORTS`. */
export const parseReportsEvent: EventParser<ReportsEvent> = eventParser(ReportsEvent);
/** Events of `PROJECTS`. */
export const parseProjectsEvent: EventParser<ProjectsEvent> = eventParser(ProjectsEvent);
/** Events of `DEADLETTERS`. */
export const parseDeadLetterEvent: EventParser<DeadLetterEvent> = eventParser(DeadLetterEvent);
