import {
  newEventId,
  type Device,
  type ReportSubmitted,
  type ReportSubmittedV1,
} from '@cohort/contracts';

interface ReportOverrides {
  trialId?: string;
  patientId?: string;
  requestId?: string;
  completedAt?: string;
}

/** A valid ReportSubmitted event at its latest version, for tests that publish straight to the stream. */
export function reportSubmitted(
  over: ReportOverrides & { siteId?: string | null; device?: Device | null } = {},
): ReportSubmitted {
  const v1 = reportSubmittedV1(over);
  return {
    ...v1,
    version: 2,
    data: { ...v1.data, siteId: over.siteId ?? null, device: over.device ?? null },
  };
}

/** A valid ReportSubmitted v1 event, as stored before v2: what replays still read. */
export function reportSubmittedV1(over: ReportOverrides = {}): ReportSubmittedV1 {
  const requestId = over.requestId ?? crypto.randomUUID();
  const completedAt = over.completedAt ?? new Date(Date.now() - 60_000).toISOString();
  const patientId = over.patientId ?? 'P-1';
  return {
    id: newEventId(),
    type: 'ReportSubmitted',
    version: 1,
    occurredAt: completedAt,
    recordedAt: new Date().toISOString(),
    source: 'test',
    actor: { id: patientId, role: 'patient' },
    correlationId: requestId,
    causationId: requestId,
    data: {
      requestId,
      trialId: over.trialId ?? 'T-1',
      patientId,
      questionnaire: { id: 'Q', version: '1' },
      answers: [{ itemId: 'a', value: 1 }],
      completedAt,
    },
  };
}
