import { z } from 'zod';
import { AnyEnvelope } from './envelope.js';
import { ProjectCreated, ProjectStatusChanged } from './events/projects.js';
import { ReportSubmitted } from './events/report-submitted.js';
import { DeadLetterEvent } from './events/dead-letters.js';
import {
  AlertAcknowledged,
  AlertEscalated,
  AlertResolved,
  SafetySignalRaised,
} from './events/alerts.js';
import { DiaryScheduleSet } from './events/diary-schedule.js';
import { NonComplianceDetected } from './events/non-compliance.js';
import { PatientEnrolled } from './events/patient-enrolled.js';
import { SafetyRuleSet } from './events/safety-rule.js';
import { upcast, upcasters, type UpcastContext } from './upcasters.js';

/** Every event a consumer of `REPORTS` may receive, at its latest version. */
export const ReportsEvent = z.discriminatedUnion('type', [ReportSubmitted]);
export type ReportsEvent = z.infer<typeof ReportsEvent>;

/** A project's lifecycle, on its own subject `projects.<trialId>`: creation and status changes. */
export const ProjectLifecycleEvent = z.discriminatedUnion('type', [
  ProjectCreated,
  ProjectStatusChanged,
]);
export type ProjectLifecycleEvent = z.infer<typeof ProjectLifecycleEvent>;

/** A trial's protocol, on `projects.<trialId>.protocol`: its diary schedule and safety rules. */
export const TrialProtocolEvent = z.discriminatedUnion('type', [DiaryScheduleSet, SafetyRuleSet]);
export type TrialProtocolEvent = z.infer<typeof TrialProtocolEvent>;

/** A patient's enrolment, on `projects.<trialId>.patients.<patientId>`. */
export const EnrolmentEvent = z.discriminatedUnion('type', [PatientEnrolled]);
export type EnrolmentEvent = z.infer<typeof EnrolmentEvent>;

/** Every event of `PROJECTS`, at its latest version: lifecycles, protocols and enrolments. */
export const ProjectsEvent = z.discriminatedUnion('type', [
  ...ProjectLifecycleEvent.options,
  ...TrialProtocolEvent.options,
  ...EnrolmentEvent.options,
]);
export type ProjectsEvent = z.infer<typeof ProjectsEvent>;

/** One safety alert, on `monitoring.alerts.<trialId>.<alertId>`: raised, then handled. */
export const AlertEvent = z.discriminatedUnion('type', [
  SafetySignalRaised,
  AlertAcknowledged,
  AlertResolved,
  AlertEscalated,
]);
export type AlertEvent = z.infer<typeof AlertEvent>;

/** One diary's non-compliance findings, on `monitoring.compliance.<trialId>.<patientId>`. */
export const ComplianceEvent = z.discriminatedUnion('type', [NonComplianceDetected]);
export type ComplianceEvent = z.infer<typeof ComplianceEvent>;

/** Every event of `MONITORING`, at its latest version: alerts and compliance findings. */
export const MonitoringEvent = z.discriminatedUnion('type', [
  ...AlertEvent.options,
  ...ComplianceEvent.options,
]);
export type MonitoringEvent = z.infer<typeof MonitoringEvent>;

/** Every event Cohort's subscribers know, at its latest version: those of every stream. */
export const CohortEvent = z.discriminatedUnion('type', [
  ...ReportsEvent.options,
  ...ProjectsEvent.options,
  ...MonitoringEvent.options,
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

/**
 * Reads stored events of one union (a stream's, or all of them): see `eventParser`. `context`
 * is what the reader knows for upcasting old versions (without it, what it would add is null).
 */
export type EventParser<E> = (input: unknown, context?: UpcastContext) => ParseResult<E>;

/** Decodes every message a parser reads: one decoder, not one per message. */
const utf8 = new TextDecoder();

/**
 * A parser for the events of `union`: bytes, text or an already-decoded value in, the typed
 * event out, upcast to the latest version of its type with what `context` knows. Never throws
 * (a `context` that throws aside): a consumer terminates what returns `ok: false`.
 */
export function eventParser<U extends EventUnion>(union: U): EventParser<z.infer<U>> {
  const knownTypes = new Map<string, number>(
    union.options.map((o) => [o.shape.type.value, o.shape.version.value]),
  );
  return (input, context) => {
    let value: unknown = input;
    if (typeof input === 'string' || input instanceof Uint8Array) {
      const text = typeof input === 'string' ? input : utf8.decode(input);
      try {
        value = JSON.parse(text);
      } catch (e) {
        return {
          ok: false,
          error: { kind: 'json', message: `not JSON: ${(e as Error).message}`, issues: [] },
        };
      }
    }
    const stored = value;
    value = upcast(stored, upcasters, context);
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
    const from = (stored as { version: unknown }).version;
    const upcastFrom = from === version ? '' : ` (stored as v${String(from)})`;
    const message = `invalid ${type} v${version}${upcastFrom}`;
    return { ok: false, error: { kind: 'data', message, issues } };
  };
}

/** Any event Cohort's subscribers know (see `eventParser`). */
export const parseEvent: EventParser<CohortEvent> = eventParser(CohortEvent);
/** Events of `REPORTS`. */
export const parseReportsEvent: EventParser<ReportsEvent> = eventParser(ReportsEvent);
/** Events of `PROJECTS`. */
export const parseProjectsEvent: EventParser<ProjectsEvent> = eventParser(ProjectsEvent);
/** A project's lifecycle events (see `ProjectLifecycleEvent`). */
export const parseProjectLifecycleEvent: EventParser<ProjectLifecycleEvent> =
  eventParser(ProjectLifecycleEvent);
/** A trial's protocol events. */
export const parseTrialProtocolEvent: EventParser<TrialProtocolEvent> =
  eventParser(TrialProtocolEvent);
/** A patient's enrolment events. */
export const parseEnrolmentEvent: EventParser<EnrolmentEvent> = eventParser(EnrolmentEvent);
/** Events of `MONITORING`. */
export const parseMonitoringEvent: EventParser<MonitoringEvent> = eventParser(MonitoringEvent);
/** Events of `DEADLETTERS`. */
export const parseDeadLetterEvent: EventParser<DeadLetterEvent> = eventParser(DeadLetterEvent);
