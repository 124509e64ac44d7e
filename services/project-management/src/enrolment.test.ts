import { newEventId, parseEnrolmentEvent, type PatientEnrolled } from '@cohort/contracts';
import { deciderSpec } from '@cohort/infra/testing';
import { describe, expect, it } from 'vitest';
import { enrolmentDecider, type Enrol } from './enrolment.js';
import { CommandRefused } from './project.js';

const actor = { id: 'crc.ortiz', role: 'coordinator' as const };
const at = '2026-02-01T10:00:00.000Z';
const enrol: Enrol = {
  type: 'Enrol',
  trialId: 'T1',
  patientId: 'P-001',
  siteId: 'SITE-A',
  enrolledAt: at,
  requestId: crypto.randomUUID(),
  projectStatus: 'enrolling',
  actor,
  at,
};
const spec = deciderSpec(enrolmentDecider, { parse: parseEnrolmentEvent });

const enrolled: PatientEnrolled = {
  id: newEventId(),
  type: 'PatientEnrolled',
  version: 1,
  occurredAt: at,
  recordedAt: at,
  source: 'test',
  actor,
  correlationId: enrol.requestId,
  causationId: enrol.requestId,
  data: {
    trialId: 'T1',
    patientId: 'P-001',
    siteId: 'SITE-A',
    enrolledAt: at,
    requestId: enrol.requestId,
  },
};

describe('Enrol', () => {
  it.each(['enrolling', 'active'] as const)(
    'given nothing, in a %s trial, enrols the patient',
    (status) => {
      spec
        .given([])
        .when({ ...enrol, projectStatus: status })
        .then([{ type: 'PatientEnrolled', actor, data: enrolled.data }]);
    },
  );

  it('given the same request before, decides nothing (idempotent)', () => {
    spec.given([enrolled]).when(enrol).then([]);
  });

  it('given the same requestId with another site, refuses: the requestId is taken', () => {
    const e = spec
      .given([enrolled])
      .when({ ...enrol, siteId: 'SITE-B' })
      .thenThrows(CommandRefused);
    expect(e.refusal).toEqual({ kind: 'request-conflict', requestId: enrol.requestId });
  });

  it('given another request enrolled the patient, refuses: already enrolled', () => {
    const e = spec
      .given([enrolled])
      .when({ ...enrol, requestId: crypto.randomUUID() })
      .thenThrows(CommandRefused);
    expect(e.refusal).toEqual({ kind: 'already-enrolled', patientId: 'P-001' });
  });

  it.each(['planned', 'suspended', 'closed', 'locked'] as const)(
    'refuses in a %s trial',
    (status) => {
      const e = spec
        .given([])
        .when({ ...enrol, projectStatus: status })
        .thenThrows(CommandRefused);
      expect(e.refusal).toMatchObject({ kind: 'not-allowed-in-status', status });
    },
  );

  it('refuses for a trial that does not exist', () => {
    const e = spec
      .given([])
      .when({ ...enrol, projectStatus: undefined })
      .thenThrows(CommandRefused);
    expect(e.refusal).toEqual({ kind: 'not-found', projectId: 'T1' });
  });
});
