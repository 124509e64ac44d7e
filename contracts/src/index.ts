export { Actor, EventId, MAX_TOKEN_LENGTH, Role, SubjectToken, UtcInstant } from './ids.js';
export {
  AnyEnvelope,
  decidedEnvelope,
  EnvelopeFields,
  eventSchema,
  type Decision,
} from './envelope.js';
export {
  Answer,
  AnswerV1,
  Device,
  MAX_ANSWERS,
  ReportSubmitted,
  ReportSubmittedData,
  ReportSubmittedDataV1,
  ReportSubmittedV1,
} from './events/report-submitted.js';
export { SubmitReport } from './commands/submit-report.js';
export {
  DiaryFrequency,
  DiaryScheduleSet,
  DiaryScheduleSetData,
  MAX_STUDY_DAYS,
  NonComplianceRule,
} from './events/diary-schedule.js';
export { SafetyCondition, SafetyRule, SafetyRuleSet, Severity } from './events/safety-rule.js';
export { PatientEnrolled } from './events/patient-enrolled.js';
export {
  AlertAcknowledged,
  AlertEscalated,
  AlertId,
  AlertResolved,
  SafetySignalRaised,
} from './events/alerts.js';
export { NonComplianceDetected } from './events/non-compliance.js';
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
  alertSubject,
  complianceSubject,
  deadLetterSubject,
  enrolmentSubject,
  PROJECT_LIFECYCLE_FILTER,
  protocolSubject,
  InvalidSubjectTokenError,
  projectSubject,
  redriveSubject,
  reportSubject,
  Streams,
  trialReportsFilter,
} from './subjects.js';
export {
  AlertEvent,
  CohortEvent,
  ComplianceEvent,
  eventParser,
  EnrolmentEvent,
  MonitoringEvent,
  parseEnrolmentEvent,
  parseMonitoringEvent,
  parseProjectLifecycleEvent,
  parseTrialProtocolEvent,
  ProjectLifecycleEvent,
  TrialProtocolEvent,
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
export {
  needsUpcast,
  reportSubmittedV1ToV2,
  upcast,
  upcasters,
  type UpcastContext,
  type Upcaster,
  type UpcasterRegistry,
} from './upcasters.js';
export { Channels, type Channel, type CohortService } from './channels.js';
export {
  eventVersions,
  SupersededEvents,
  type EventSchema,
  type EventVersion,
} from './versions.js';
