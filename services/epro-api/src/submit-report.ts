import { ReportSubmitted, reportSubject, Streams } from '@cohort/contracts';
import type { Actor, SubmitReport } from '@cohort/contracts';
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
const headers = { 'Cohort-Event-Type': 'ReportSubmitted', 'Cohort-Event-Version': '1' };

/**
 * Turns a validated submission into one ReportSubmitted event, stored once per requestId.
 * The actor is the verified caller: the patient, or the site's device gateway.
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
          version: 1,
          occurredAt: body.completedAt,
          recordedAt,
          source: SOURCE,
          actor,
          correlationId,
          causationId: body.requestId,
          data: body,
        };
        // The data was validated at the edge against the same schema; the envelope built here is
        // validated on publish, so a bug in this function cannot reach the stream.
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
