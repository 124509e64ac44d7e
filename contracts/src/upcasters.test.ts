import { describe, expect, it, vi } from 'vitest';
import { ReportSubmitted, type ReportSubmittedV1 } from './events/report-submitted.js';
import { CohortEvent, parseEnrolmentEvent, parseEvent, parseReportsEvent } from './parse.js';
import { upcast, upcasters, type UpcastContext, type UpcasterRegistry } from './upcasters.js';

// A history of breaking changes to an invented event: v1 had a single score, v2 a list of
// scores, v3 renamed the list.
const registry: UpcasterRegistry = {
  ScoreRecorded: {
    1: (d) => ({ scores: [(d as { score: number }).score] }),
    2: (d) => ({ values: (d as { scores: number[] }).scores }),
  },
};

describe('upcast', () => {
  it('brings an old event through every step to the latest version', () => {
    expect(
      upcast({ type: 'ScoreRecorded', version: 1, id: 'x', data: { score: 4 } }, registry),
    ).toEqual({
      type: 'ScoreRecorded',
      version: 3,
      id: 'x',
      data: { values: [4] },
    });
    expect(
      upcast({ type: 'ScoreRecorded', version: 2, data: { scores: [1, 2] } }, registry),
    ).toMatchObject({
      version: 3,
      data: { values: [1, 2] },
    });
  });

  it('leaves latest events, unknown types and non-events alone, and never mutates its input', () => {
    const latest = { type: 'ScoreRecorded', version: 3, data: { values: [] } };
    expect(upcast(latest, registry)).toBe(latest);
    const other = { type: 'Other', version: 1, data: {} };
    expect(upcast(other, registry)).toBe(other);
    expect(upcast('text', registry)).toBe('text');
    const old = { type: 'ScoreRecorded', version: 1, data: { score: 1 } };
    upcast(old, registry);
    expect(old).toEqual({ type: 'ScoreRecorded', version: 1, data: { score: 1 } });
  });
});

// Events as epro-api and project-management stored them, byte for byte, before
// ReportSubmitted v2: a replay must read them as v2.
const storedEnrolment =
  '{"id":"0195f3a1-0b2c-7d3e-8f40-51a2b3c4d5e6","type":"PatientEnrolled","version":1,' +
  '"occurredAt":"2026-01-05T08:00:00.000Z","recordedAt":"2026-01-05T08:00:00.412Z",' +
  '"source":"project-management","actor":{"id":"c.moreau","role":"coordinator"},' +
  '"correlationId":"2f0c1d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f","causationId":"2f0c1d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f",' +
  '"data":{"trialId":"TRIAL-A","patientId":"P-001","siteId":"SITE-LYON",' +
  '"enrolledAt":"2026-01-05T08:00:00.000Z","requestId":"2f0c1d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f"}}';
const storedReports = [
  '{"id":"0195f3a2-7c1e-7a4b-9c3d-2e1f0a9b8c7d","type":"ReportSubmitted","version":1,' +
    '"occurredAt":"2026-01-31T09:00:00.000Z","recordedAt":"2026-01-31T09:00:01.207Z",' +
    '"source":"epro-api","actor":{"id":"P-001","role":"patient"},' +
    '"correlationId":"0b7e4b1e-9a43-4c1e-8f5e-3f1d2b6a9c01","causationId":"0b7e4b1e-9a43-4c1e-8f5e-3f1d2b6a9c01",' +
    '"data":{"requestId":"0b7e4b1e-9a43-4c1e-8f5e-3f1d2b6a9c01","trialId":"TRIAL-A","patientId":"P-001",' +
    '"questionnaire":{"id":"PHQ-9","version":"2.1"},' +
    '"answers":[{"itemId":"q1","value":2},{"itemId":"q2","value":["often","at night"]}],' +
    '"completedAt":"2026-01-31T09:00:00.000Z"}}',
  // A patient of whom the reader knows no enrolment (e.g. enrolled before enrolment events).
  '{"id":"0195f3a3-1d2e-7f3a-a4b5-c6d7e8f90a1b","type":"ReportSubmitted","version":1,' +
    '"occurredAt":"2026-01-31T10:00:00.000Z","recordedAt":"2026-01-31T10:00:00.950Z",' +
    '"source":"epro-api","actor":{"id":"gateway-1","role":"system"},' +
    '"correlationId":"corr-7","causationId":"5c3a2b1d-0e9f-4a8b-9c7d-6e5f4a3b2c1d",' +
    '"data":{"requestId":"5c3a2b1d-0e9f-4a8b-9c7d-6e5f4a3b2c1d","trialId":"TRIAL-A","patientId":"P-404",' +
    '"questionnaire":{"id":"PHQ-9","version":"2.1"},"answers":[{"itemId":"q1","value":null}],' +
    '"completedAt":"2026-01-31T10:00:00.000Z"}}',
];

/** What a reader of PROJECTS knows: each enrolled patient's site. */
function enrolmentsOf(events: string[]): UpcastContext {
  const sites = new Map<string, string>();
  for (const e of events) {
    const r = parseEnrolmentEvent(e);
    if (!r.ok) throw new Error(r.error.message);
    sites.set(`${r.event.data.trialId}/${r.event.data.patientId}`, r.event.data.siteId);
  }
  return { siteOf: (trialId, patientId) => sites.get(`${trialId}/${patientId}`) };
}

describe('ReportSubmitted v1 -> v2, replaying stored events', () => {
  it('reads every stored v1 report as v2: the enrolment site where known, else null; no device', () => {
    const context = enrolmentsOf([storedEnrolment]);
    const replayed = storedReports.map((s) => parseReportsEvent(s, context));
    const [known, unknown] = replayed.map((r) => {
      if (!r.ok) throw new Error(`${r.error.message} ${JSON.stringify(r.error.issues)}`);
      return r.event;
    });
    const [v1Known, v1Unknown] = storedReports.map((s) => JSON.parse(s) as ReportSubmittedV1);
    expect(known).toEqual({
      ...v1Known,
      version: 2,
      data: { ...v1Known!.data, siteId: 'SITE-LYON', device: null },
    });
    expect(unknown).toEqual({
      ...v1Unknown,
      version: 2,
      data: { ...v1Unknown!.data, siteId: null, device: null },
    });
    expect(ReportSubmitted.parse(known)).toEqual(known);
  });

  it('gives siteId null to every v1 report when the reader passes no context', () => {
    for (const s of storedReports) {
      const r = parseReportsEvent(s);
      expect(r).toMatchObject({ ok: true, event: { version: 2, data: { siteId: null } } });
      expect(parseEvent(new TextEncoder().encode(s))).toEqual(r);
    }
  });

  it('leaves v2 reports alone: the site an event says is kept, whatever the context knows', () => {
    const v1 = JSON.parse(storedReports[0]!) as ReportSubmittedV1;
    const v2 = {
      ...v1,
      version: 2,
      data: {
        ...v1.data,
        siteId: 'SITE-PARIS',
        device: { platform: 'android', appVersion: '4.0.1' },
      },
    };
    const siteOf = vi.fn(() => 'SITE-LYON');
    expect(parseReportsEvent(JSON.stringify(v2), { siteOf })).toEqual({ ok: true, event: v2 });
    expect(siteOf).not.toHaveBeenCalled();
  });

  it('upcasts without touching the stored event', () => {
    const stored = JSON.parse(storedReports[0]!) as ReportSubmittedV1;
    const copy = structuredClone(stored);
    upcast(stored, upcasters, enrolmentsOf([storedEnrolment]));
    expect(stored).toEqual(copy);
  });

  it('still refuses a v1 report whose data is invalid, naming the field', () => {
    const v1 = JSON.parse(storedReports[0]!) as ReportSubmittedV1;
    const r = parseReportsEvent({ ...v1, data: { ...v1.data, answers: [] } });
    expect(r).toMatchObject({
      ok: false,
      error: { kind: 'data', message: 'invalid ReportSubmitted v2 (stored as v1)' },
    });
    if (!r.ok) expect(r.error.issues.map((i) => i.path)).toEqual(['data.answers']);
  });
});

describe('the registry', () => {
  it('brings every version 1 event of every type to the version its stream union reads', () => {
    for (const option of CohortEvent.options) {
      const { value: type } = option.shape.type;
      const { value: latest } = option.shape.version;
      const chain = upcasters[type] ?? {};
      for (let v = 1; v < latest; v++) expect(chain[v], `${type} v${v} -> v${v + 1}`).toBeDefined();
      expect(chain[latest], `${type} has no v${latest + 1}`).toBeUndefined();
    }
  });
});
