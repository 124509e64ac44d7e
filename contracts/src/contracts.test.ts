import { describe, expect, it } from 'vitest';
import {
  fieldIssues,
  InvalidSubjectTokenError,
  newEventId,
  parseEvent,
  reportSubject,
  parseReportsEvent,
  ReportSubmitted,
  ReportSubmittedDataV1,
  SubmitReport,
  trialReportsFilter,
} from './index.js';

const body = {
  requestId: '0b7e4b1e-9a43-4c1e-8f5e-3f1d2b6a9c01',
  trialId: 'TRIAL-1',
  patientId: 'P_001',
  questionnaire: { id: 'PHQ-9', version: '1' },
  answers: [{ itemId: 'q1', value: 2 }],
  completedAt: '2026-01-31T09:00:00.000Z',
};

const event = {
  id: newEventId(),
  type: 'ReportSubmitted',
  version: 2,
  occurredAt: body.completedAt,
  recordedAt: '2026-01-31T09:00:01.000Z',
  source: 'epro-api',
  actor: { id: 'P_001', role: 'patient' },
  correlationId: body.requestId,
  causationId: body.requestId,
  data: { ...body, siteId: 'SITE-1', device: { platform: 'ios', appVersion: '3.2.0' } },
};

describe('subjects', () => {
  it('builds one subject per patient diary', () => {
    expect(reportSubject('TRIAL-1', 'P_001')).toBe('reports.TRIAL-1.P_001');
    expect(trialReportsFilter('T')).toBe('reports.T.*');
  });

  it.each(['a.b', '*', '>', 'a b', '', 'x'.repeat(65), 'é'])('refuses token %j', (bad) => {
    expect(() => reportSubject(bad, 'p')).toThrow(InvalidSubjectTokenError);
    expect(() => reportSubject('t', bad)).toThrow(/patientId/);
  });
});

describe('event ids', () => {
  it('are UUID v7 and time-ordered', () => {
    const a = newEventId();
    const b = newEventId();
    expect(a[14]).toBe('7');
    expect(a < b).toBe(true);
  });
});

describe('SubmitReport', () => {
  it('accepts a valid body', () => {
    expect(SubmitReport.parse(body)).toEqual(body);
  });

  it('names every failing field', () => {
    const r = SubmitReport.safeParse({
      ...body,
      requestId: 'nope',
      answers: [],
      completedAt: '2026-01-31T09:00:00+02:00',
      extra: 1,
    });
    expect(r.success).toBe(false);
    const paths = r.error!.issues.map((i) => i.path.join('.') || i.code);
    expect(paths).toEqual(expect.arrayContaining(['requestId', 'answers', 'completedAt']));
    expect(r.error!.issues.some((i) => i.code === 'unrecognized_keys')).toBe(true);
  });

  it('accepts a v2 body: a site, a device and units', () => {
    const v2 = {
      ...body,
      answers: [{ itemId: 'weight', value: 71.5, unit: 'kg' }, ...body.answers],
      siteId: 'SITE-1',
      device: { platform: 'android', appVersion: '4.0.1' },
    };
    expect(SubmitReport.parse(v2)).toEqual(v2);
    expect(SubmitReport.parse({ ...body, siteId: null, device: null })).toMatchObject({
      siteId: null,
      device: null,
    });
  });

  it('reads a v1 body as v1 did, key for key: a retried v1 body keeps its content hash', () => {
    const { requestId, ...rest } = body;
    const shuffled = { ...rest, answers: [{ value: 2, itemId: 'q1' }], requestId };
    const now = SubmitReport.parse(shuffled);
    expect(Object.keys(now)).toEqual(Object.keys(body));
    expect(JSON.stringify(now)).toBe(
      JSON.stringify(ReportSubmittedDataV1.strict().parse(shuffled)),
    );
  });

  it('names the failing v2 fields', () => {
    const r = SubmitReport.safeParse({
      ...body,
      answers: [
        { itemId: 'q1', value: 1, unit: '' },
        { itemId: 'q2', value: 1, unit: 'x'.repeat(33) },
      ],
      siteId: 'site.1',
      device: { platform: 'symbian', appVersion: '' },
    });
    expect(r.success).toBe(false);
    expect(fieldIssues(r.error!).map((i) => i.path)).toEqual([
      'answers.0.unit',
      'answers.1.unit',
      'siteId',
      'device.platform',
      'device.appVersion',
    ]);
  });

  it('bounds the number of answers', () => {
    const answers = Array.from({ length: 501 }, (_, i) => ({ itemId: `q${i}`, value: i }));
    expect(SubmitReport.safeParse({ ...body, answers }).success).toBe(false);
  });
});

describe('parseEvent', () => {
  it('returns the typed event', () => {
    const r = parseEvent(new TextEncoder().encode(JSON.stringify(event)));
    expect(r.ok).toBe(true);
    if (r.ok && r.event.type === 'ReportSubmitted') {
      expect(r.event.data.patientId).toBe('P_001');
    } else expect.unreachable('not a ReportSubmitted');
    expect(ReportSubmitted.safeParse(event).success).toBe(true);
  });

  it('reads a v1 event as epro-api stored it, as v2', () => {
    const stored =
      '{"id":"0195f3a2-7c1e-7a4b-9c3d-2e1f0a9b8c7d","type":"ReportSubmitted","version":1,' +
      '"occurredAt":"2026-01-31T09:00:00.000Z","recordedAt":"2026-01-31T09:00:01.207Z",' +
      '"source":"epro-api","actor":{"id":"P_001","role":"patient"},' +
      '"correlationId":"0b7e4b1e-9a43-4c1e-8f5e-3f1d2b6a9c01",' +
      '"causationId":"0b7e4b1e-9a43-4c1e-8f5e-3f1d2b6a9c01","data":' +
      JSON.stringify(body) +
      '}';
    const bytes = new TextEncoder().encode(stored);
    expect(parseReportsEvent(bytes)).toEqual({
      ok: true,
      event: { ...JSON.parse(stored), version: 2, data: { ...body, siteId: null, device: null } },
    });
    const siteOf = (trialId: string, patientId: string) =>
      trialId === 'TRIAL-1' && patientId === 'P_001' ? 'SITE-9' : undefined;
    expect(parseEvent(bytes, { siteOf })).toMatchObject({
      ok: true,
      event: { version: 2, data: { siteId: 'SITE-9', device: null, answers: body.answers } },
    });
  });

  it('reports non-JSON', () => {
    const r = parseEvent('{oops');
    expect(r).toMatchObject({ ok: false, error: { kind: 'json' } });
  });

  it('reports a non-envelope with its fields', () => {
    const r = parseEvent({ type: 'ReportSubmitted' });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.kind).toBe('envelope');
      expect(r.error.issues.map((i) => i.path)).toContain('id');
    }
  });

  it('reports an unknown type or a future version', () => {
    expect(parseEvent({ ...event, type: 'Nope' })).toMatchObject({
      ok: false,
      error: { kind: 'unknown-type' },
    });
    expect(parseEvent({ ...event, version: 3 })).toMatchObject({
      ok: false,
      error: { kind: 'unknown-type' },
    });
  });

  it('reports invalid data of a known type with the failing path', () => {
    const r = parseEvent({ ...event, data: { ...event.data, trialId: 'a.b' } });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.kind).toBe('data');
      expect(r.error.issues.map((i) => i.path)).toContain('data.trialId');
    }
  });
});
