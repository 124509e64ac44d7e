export { Actor, EventId, MAX_TOKEN_LENGTH, Role, SubjectToken, UtcInstant } from './ids.js';
export { AnyEnvelope, EnvelopeFields, eventSchema } from './envelope.js';
export {
  Answer,
  MAX_ANSWERS,
  ReportSubmitted,
  ReportSubmittedData,
} from './events/report-submitted.js';
export { SubmitReport } from './commands/submit-report.js';
export {
  ProjectCreated,
  ProjectId,
  ProjectStatus,
  ProjectStatusChanged,
} from './events/projects.js';
export {
  DeadLetterCause,
  DeadLetterCaptured,
  DeadLetterCapturedData,
  DeadLetterDiscarded,
  DeadLetterEvent,
  DeadLetterId,
  DeadLetterRedriven,
} from './events/dead-letters.js';
export {
  deadLetterSubject,
  InvalidSubjectTokenError,
  projectSubject,
  redriveSubject,
  reportSubject,
  Streams,
  trialReportsFilter,
} from './subjects.js';
export {
  CohortEvent,
  eventParser,
  fieldIssues,
  parseDeadLetterEvent,
  parseEvent,
  parseProjectsEvent,
  parseReportsEvent,
  ProjectsEvent,
  ReportsEvent,
  type EventParser,
  type FieldIssue,
  type ParseError,
  type ParseErrorKind,
  type ParseResult,
} from './parse.js';
export { newEventId } from './event-id.js';
export { upcast, upcasters, type Upcaster, type UpcasterRegistry } from './upcasters.js';
