import { ReportSubmitted, reportSubject, Streams } from '@cohort/contracts';
import type { Actor, ReportSubmittedData, SubmitReport } from '@cohort/contracts';
import type { PublishOnceInput, PublishOnceResult } from '@cohort/infra';

export const SOURCE = 'epro-api';

/** What ingest needs from infra: publish each client request at most once. */
export interface Ingest {
  publish(input: PublishOnceInput): Promise<PublishOnceResult>;
  /** What an earlier request with this id stored, if anything (same content), else undefined. */
  find(requestId: string, content: unknown): Promise<PublishOnceResult | undefined>;
}

export interface Accepted {
  eventId: string;
  requestId: string;
  stream: string;
  seq: number;
  duplicate: boolean;
}

const encoder = new TextEncoder();
const Envelope = ReportSubmitted.omit({ data: true });
const VERSION = ReportSubmitted.shape.version.value;
const headers = { 'Cohort-Event-Type': 'ReportSubmitted', 'Cohort-Event-Version': String(VERSION) };

/**
 * The event's data from a body of any version: a v1 body (no site, no device) says null for
 * them; answers are kept as sent, with their units.
 */
export function reportData(body: SubmitReport): ReportSubmittedData {
  const { siteId = null, device = null, ...rest } = body;
  return { ...rest, siteId, device };
}

/**
 * Turns a validated submission (v1 or v2 body) into one ReportSubmitted event at the latest
 * version, stored once per requestId. The idempotency content is the body as parsed, so a v1
 * body retried after the upgrade to v2 is the same request. The actor is the verified caller:
 * the patient, or the site's device gateway.
 */
export function submitReport(
  ingest: Ingest,
  body: SubmitReport,
  actor: Actor,
  correlationId: string = body.requestId,
): Promise<Accepted> {
  return ingest
    .publish({
      requestId: body.requestId,
      content: body,
      subject: reportSubject(body.trialId, body.patientId),
      headers,
      build: (eventId, recordedAt) => {
        const event: ReportSubmitted = {
          id: eventId,
          type: 'ReportSubmitted',
          version: VERSION,
          occurredAt: body.completedAt,
          recordedAt,
          source: SOURCE,
          actor,
          correlationId,
          causationId: body.requestId,
          data: reportData(body),
        };
        // The data was validated at the edge (SubmitReport is the data's schema with siteId and
        // device optional, filled in above); the envelope built here is validated on publish, so
        // a bug in this function cannot reach the stream.
        Envelope.parse(event);
        return encoder.encode(JSON.stringify(event));
      },
    })
    .then((r) => ({
      eventId: r.eventId,
      requestId: body.requestId,
      stream: r.stream,
      seq: r.seq,
      duplicate: r.duplicate,
    }));
}

export const REPORTS_STREAM = Streams.REPORTS.name;
