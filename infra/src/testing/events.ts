import { newEventId, type ReportSubmitted } from '@cohort/contracts';

/** A valid ReportSubmitted event, for tests that publish straight to the stream. */
export function reportSubmitted(
  over: { trialId?: string; patientId?: string; requestId?: string; completedAt?: string } = {},
): ReportSubmitted {
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
