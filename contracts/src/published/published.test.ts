import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DiagnosticSeverity, Parser } from '@asyncapi/parser';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Channels } from '../channels.js';
import { CohortEvent } from '../parse.js';
import { Streams } from '../subjects.js';
import { upcasters } from '../upcasters.js';
import { eventVersions, SupersededEvents } from '../versions.js';
import { asyncApiDocument, channelAddress } from './asyncapi.js';
import { contractsVersion, GENERATED_DIR } from './export.js';
import { ASYNCAPI_FILE, publishedFiles } from './files.js';

const REGENERATE = 'out of date: run `npm run contracts:export` and commit contracts/generated';
const files = publishedFiles({ version: contractsVersion() });

/** Diagnostics that fail the document; hints and infos (a newer AsyncAPI exists) are advice. */
const FAILING = [DiagnosticSeverity.Error, DiagnosticSeverity.Warning];
/** The parser lints the whole document with every payload schema: about a second, more under load. */
const PARSE_TIMEOUT_MS = 60_000;

describe('the published contracts in contracts/generated', () => {
  it('are the ones the contracts generate now', () => {
    expect(existsSync(GENERATED_DIR), REGENERATE).toBe(true);
    expect(readdirSync(GENERATED_DIR).sort(), REGENERATE).toEqual([...files.keys()]);
    const stale = [...files]
      .filter(([name, text]) => readFileSync(join(GENERATED_DIR, name), 'utf8') !== text)
      .map(([name]) => name);
    expect(stale, REGENERATE).toEqual([]);
  });

  it('are generated the same way every time', () => {
    expect(publishedFiles({ version: contractsVersion() })).toEqual(files);
  });

  it('hold one JSON Schema per event type and version, naming both', () => {
    expect([...files.keys()]).toEqual(
      expect.arrayContaining(['ReportSubmitted.v1.schema.json', 'ReportSubmitted.v2.schema.json']),
    );
    for (const e of eventVersions()) {
      const schema = JSON.parse(files.get(`${e.type}.v${e.version}.schema.json`)!) as {
        properties: { type: { const: string }; version: { const: number } };
      };
      expect(schema.properties.type.const).toBe(e.type);
      expect(schema.properties.version.const).toBe(e.version);
    }
  });

  it('accept the events Cohort stores, each version its own', () => {
    const schemaOf = (name: string) =>
      z.fromJSONSchema(JSON.parse(files.get(name)!) as Parameters<typeof z.fromJSONSchema>[0]);
    const v1 = schemaOf('ReportSubmitted.v1.schema.json');
    const v2 = schemaOf('ReportSubmitted.v2.schema.json');
    const stored = reportSubmittedV1Json();
    const upcast = { ...stored, version: 2, data: { ...stored.data, siteId: null, device: null } };
    expect(v1.safeParse(stored).success).toBe(true);
    expect(v2.safeParse(stored).success).toBe(false);
    expect(v2.safeParse(upcast).success).toBe(true);
    expect(
      v2.safeParse({ ...upcast, data: { ...upcast.data, device: { platform: 'palm' } } }).success,
    ).toBe(false);
  });
});

/** A ReportSubmitted v1 event as epro-api stored it. */
function reportSubmittedV1Json() {
  const requestId = '0b7e4b1e-9a43-4c1e-8f5e-3f1d2b6a9c01';
  return {
    id: '0195f3a2-7c1e-7a4b-9c3d-2e1f0a9b8c7d',
    type: 'ReportSubmitted',
    version: 1,
    occurredAt: '2026-01-31T09:00:00.000Z',
    recordedAt: '2026-01-31T09:00:01.207Z',
    source: 'epro-api',
    actor: { id: 'P-001', role: 'patient' },
    correlationId: requestId,
    causationId: requestId,
    data: {
      requestId,
      trialId: 'TRIAL-A',
      patientId: 'P-001',
      questionnaire: { id: 'PHQ-9', version: '2.1' },
      answers: [{ itemId: 'q1', value: 2 }],
      completedAt: '2026-01-31T09:00:00.000Z',
    },
  };
}

describe('asyncapi.json', () => {
  it(
    'is a valid AsyncAPI 3.0 document',
    async () => {
      const { document, diagnostics } = await new Parser().parse(files.get(ASYNCAPI_FILE)!);
      const problems = diagnostics
        .filter((d) => FAILING.includes(d.severity))
        .map((d) => `${d.path.join('.')}: ${d.message}`);
      expect(problems).toEqual([]);
      expect(document?.version()).toBe('3.0.0');
      expect(
        document
          ?.channels()
          .all()
          .map((c) => c.address()),
      ).toEqual([
        'reports.{trialId}.{patientId}',
        'projects.{trialId}',
        'projects.{trialId}.protocol',
        'projects.{trialId}.patients.{patientId}',
        'monitoring.alerts.{trialId}.{alertId}',
        'monitoring.compliance.{trialId}.{patientId}',
        'deadletters.{id}',
        'redrive.{consumer}',
      ]);
      const sends = (service: string) =>
        document
          ?.operations()
          .filterBySend()
          .filter((o) => o.id()?.startsWith(`${service}.`))
          .flatMap((o) =>
            o
              .messages()
              .all()
              .map((m) => m.title()),
          )
          .sort();
      expect(sends('epro-api')).toEqual(['ReportSubmitted v2']);
      expect(sends('project-management')).toEqual([
        'DiaryScheduleSet v1',
        'PatientEnrolled v1',
        'ProjectCreated v1',
        'ProjectStatusChanged v1',
        'SafetyRuleSet v1',
      ]);
      const receivesReports = document
        ?.operations()
        .filterByReceive()
        .filter((o) => o.channels().all()[0]?.id() === 'reports')
        .map((o) => o.id());
      expect(receivesReports?.sort()).toEqual([
        'edc.receives.reports',
        'monitoring.receives.reports',
        'project-management.receives.reports',
      ]);
    },
    PARSE_TIMEOUT_MS,
  );

  it('gives every message its event JSON Schema, envelope included', () => {
    const doc = asyncApiDocument({ version: '0.0.0' }) as {
      components: { schemas: Record<string, { schema: { required: string[] } }> };
    };
    const v2 = doc.components.schemas['ReportSubmitted.v2']!.schema;
    expect(v2.required).toEqual(
      expect.arrayContaining(['id', 'type', 'version', 'occurredAt', 'actor', 'data']),
    );
  });
});

describe('what the documents are derived from', () => {
  it('has a channel for every stream of events (all but JetStream advisories)', () => {
    const withChannels = new Set(Object.values(Channels).map((c) => c.stream));
    expect([...withChannels].sort()).toEqual(
      Object.keys(Streams)
        .filter((s) => s !== 'ADVISORIES')
        .sort(),
    );
  });

  it('puts every event on some channel', () => {
    const onChannels = new Set(
      Object.values(Channels).flatMap((c) => c.events.options.map((o) => o.shape.type.value)),
    );
    for (const e of eventVersions()) expect(onChannels, e.type).toContain(e.type);
    for (const o of CohortEvent.options) expect(onChannels).toContain(o.shape.type.value);
  });

  it('keeps the schema of every version an upcaster reads from, and only those', () => {
    const superseded = SupersededEvents.map(
      (s) => `${s.shape.type.value}.v${s.shape.version.value}`,
    );
    const upcast = Object.entries(upcasters).flatMap(([type, chain]) =>
      Object.keys(chain).map((v) => `${type}.v${v}`),
    );
    expect(superseded.sort()).toEqual(upcast.sort());
  });

  it('refuses a channel whose subject function does not build its address', () => {
    const channel = Channels.reports;
    expect(() =>
      channelAddress('x', { ...channel, subject: (t: string) => `reports.${t}.all` }),
    ).toThrow(/patientId is not used once/);
    expect(() => channelAddress('x', { ...channel, stream: 'PROJECTS' })).toThrow(
      /not a subject of stream PROJECTS/,
    );
  });
});
