/** A valid `POST /v1/reports` body; every call gets a fresh requestId. */
export function reportBody(trialId: string, patientId: string, i = 0) {
  return {
    requestId: crypto.randomUUID(),
    trialId,
    patientId,
    questionnaire: { id: 'EQ-5D-5L', version: '1.0' },
    answers: [
      { itemId: 'mobility', value: (i % 5) + 1 },
      { itemId: 'self_care', value: ((i + 1) % 5) + 1 },
      { itemId: 'usual_activities', value: ((i + 2) % 5) + 1 },
      { itemId: 'pain', value: ((i + 3) % 5) + 1 },
      { itemId: 'anxiety', value: ((i + 4) % 5) + 1 },
      { itemId: 'vas', value: 50 + (i % 50) },
      { itemId: 'comment', value: 'felt better after the second dose, slept through the night' },
    ],
    completedAt: new Date(Date.now() - 60_000).toISOString(),
  };
}
