import { newEventId, type ProjectStatusChanged, type ReportSubmitted } from '@cohort/contracts';
import { type EventMeta } from '@cohort/infra';
import {
  createLogger,
  DEFAULT_BODY_LIMIT_BYTES,
  ServiceMetrics,
  type SqlStore,
  apiContractProblems,
  authenticatedAs,
  conformingToOpenApi,
  reportSubmitted,
  testStores,
  testTokens,
} from '@cohort/infra/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from './app.js';
import { caseReports, migrations } from './case-reports.js';
import { trialStatus } from './trial-status.js';
import type { CaseReport, Page, TrialSummary } from './queries.js';

const tokens = await testTokens();
const investigator = await tokens.header({ sub: 'dr.ng', role: 'investigator', trials: ['*'] });

const minute = (m: number) => new Date(Date.UTC(2026, 0, 1, 8, m)).toISOString();

function events(): { event: ReportSubmitted; meta: EventMeta }[] {
  // 3 patients in T-A (P1 x3, P2 x2, P3 x1), 1 patient in T-B.
  const spec: [string, string, number][] = [
    ['T-A', 'P1', 1],
    ['T-A', 'P2', 2],
    ['T-A', 'P1', 3],
    ['T-B', 'P9', 4],
    ['T-A', 'P3', 5],
    ['T-A', 'P2', 6],
    ['T-A', 'P1', 7],
  ];
  return spec.map(([trialId, patientId, m], i) => ({
    event: reportSubmitted({ trialId, patientId, completedAt: minute(m) }),
    meta: {
      stream: 'REPORTS',
      seq: i + 1,
      subject: `reports.${trialId}.${patientId}`,
      deliveries: 1,
    },
  }));
}

async function snapshot(store: SqlStore) {
  const q = async (sql: string) => (await store.query(sql)).rows;
  return {
    reports: await q(
      'SELECT event_id, trial_id, patient_id, stream_seq::int AS seq FROM case_reports ORDER BY event_id',
    ),
    patients: await q('SELECT * FROM trial_patients ORDER BY trial_id, patient_id'),
    summaries: await q('SELECT * FROM trial_summaries ORDER BY trial_id'),
  };
}

describe.each(testStores())('EDC case reports on $kind', ({ open, cleanup }) => {
  let perEvent: SqlStore;
  let batched: SqlStore;
  const all = events();

  beforeAll(async () => {
    [perEvent, batched] = await Promise.all([open(), open()]);
    for (const s of [perEvent, batched]) {
      await s.migrate('edc-case-reports', migrations);
      await s.migrate('edc-trial-status', trialStatus.migrations);
    }
    for (const { event, meta } of all) {
      await perEvent.transaction((tx) => caseReports.apply(tx, event, meta));
    }
    await batched.transaction((tx) => caseReports.applyBatch!(tx, all.slice(0, 4)));
    await batched.transaction((tx) => caseReports.applyBatch!(tx, all.slice(4)));
  });

  afterAll(async () => {
    await perEvent?.close();
    await batched?.close();
    await cleanup();
  });

  it('keeps one row per report and counts patients and reports per trial', async () => {
    const s = await snapshot(perEvent);
    expect(s.reports).toHaveLength(7);
    expect(s.patients).toEqual([
      { trial_id: 'T-A', patient_id: 'P1' },
      { trial_id: 'T-A', patient_id: 'P2' },
      { trial_id: 'T-A', patient_id: 'P3' },
      { trial_id: 'T-B', patient_id: 'P9' },
    ]);
    expect(s.summaries).toMatchObject([
      { trial_id: 'T-A', reports: 6, patients: 3 },
      { trial_id: 'T-B', reports: 1, patients: 1 },
    ]);
  });

  it('has the same effect applied event by event or in batches', async () => {
    expect(await snapshot(batched)).toEqual(await snapshot(perEvent));
  });

  it('refuses a report applied before, changing nothing, rather than counting it twice', async () => {
    // The runtime's inbox keeps copies away; one that slips past it must fail, not double count.
    const before = await snapshot(batched);
    await expect(
      batched.transaction((tx) => caseReports.applyBatch!(tx, [all[0]!])),
    ).rejects.toMatchObject({ code: '23505' });
    await expect(
      batched.transaction((tx) => caseReports.apply(tx, all[6]!.event, all[6]!.meta)),
    ).rejects.toMatchObject({ code: '23505' });
    const sameEventOtherRequest = {
      ...all[1]!,
      event: { ...all[1]!.event, data: { ...all[1]!.event.data, requestId: crypto.randomUUID() } },
    };
    await expect(
      batched.transaction((tx) => caseReports.applyBatch!(tx, [sameEventOtherRequest])),
    ).rejects.toMatchObject({ code: '23505' });
    expect(await snapshot(batched)).toEqual(before);
  });

  describe('HTTP API', () => {
    const app = () =>
      authenticatedAs(
        conformingToOpenApi(
          createApp({
            auth: tokens.keys,
            db: perEvent,
            metrics: new ServiceMetrics('edc', { defaults: false }),
            log: createLogger('edc'),
            ready: {},
          }),
        ),
        investigator,
      );
    const get = async <T>(path: string) => {
      const res = await app().request(path);
      return { status: res.status, body: (await res.json()) as T };
    };

    it('keeps its API contract: a valid OpenAPI 3.1 document of every route', async () => {
      expect(
        await apiContractProblems(app(), { bodyLimitBytes: DEFAULT_BODY_LIMIT_BYTES }),
      ).toEqual([]);
    });

    it('pages through a trial in completion order', async () => {
      const first = await get<Page<CaseReport>>('/v1/trials/T-A/reports?limit=4');
      expect(first.status).toBe(200);
      expect(first.body.items.map((r) => r.completedAt)).toEqual([1, 2, 3, 5].map(minute));
      expect(first.body.items[0]).toMatchObject({
        trialId: 'T-A',
        patientId: 'P1',
        questionnaire: { id: 'Q', version: '1' },
        answers: [{ itemId: 'a', value: 1 }],
        seq: 1,
      });
      const second = await get<Page<CaseReport>>(
        `/v1/trials/T-A/reports?limit=4&cursor=${first.body.nextCursor}`,
      );
      expect(second.body.items.map((r) => r.completedAt)).toEqual([6, 7].map(minute));
      expect(second.body.nextCursor).toBeNull();
    });

    it('filters by patient and time', async () => {
      const r = await get<Page<CaseReport>>(
        `/v1/trials/T-A/reports?patientId=P1&from=${minute(2)}&to=${minute(7)}`,
      );
      expect(r.body.items.map((x) => x.completedAt)).toEqual([minute(3)]);
      const p = await get<Page<CaseReport>>('/v1/trials/T-A/patients/P2/reports');
      expect(p.body.items.map((x) => x.patientId)).toEqual(['P2', 'P2']);
    });

    it('summarizes a trial, and 404s one without reports', async () => {
      const s = await get<TrialSummary>('/v1/trials/T-A/summary');
      expect(s.body).toEqual({
        trialId: 'T-A',
        status: null,
        locked: false,
        closedAt: null,
        lockedAt: null,
        reports: 6,
        patients: 3,
        lateReports: 0,
        firstCompletedAt: minute(1),
        lastCompletedAt: minute(7),
        lastRecordedAt: expect.any(String),
      });
      expect((await get('/v1/trials/NOPE/summary')).status).toBe(404);
    });

    it('shows the trial status, locked, and flags reports recorded after the close as late', async () => {
      const now = new Date();
      const at = (ms: number) => new Date(now.getTime() + ms).toISOString();
      const base = {
        version: 1 as const,
        source: 'pm',
        actor: { id: 'dr.lee', role: 'sponsor' as const },
        correlationId: 'c',
        causationId: 'c',
      };
      const events = [
        {
          ...base,
          id: newEventId(),
          type: 'ProjectCreated' as const,
          occurredAt: at(-9e6),
          recordedAt: at(-9e6),
          data: {
            projectId: 'T-B',
            name: 'B',
            requestId: crypto.randomUUID(),
            status: 'planned' as const,
          },
        },
        // Closed long before the T-B report was recorded (it was recorded "now"): late.
        {
          ...base,
          id: newEventId(),
          type: 'ProjectStatusChanged' as const,
          occurredAt: at(-8e6),
          recordedAt: at(-8e6),
          reason: 'done',
          data: {
            projectId: 'T-B',
            from: 'active' as const,
            to: 'closed' as const,
            effectiveAt: at(-8e6),
          },
        },
      ];
      for (const [i, e] of events.entries()) {
        await perEvent.transaction((tx) =>
          trialStatus.apply(tx, e, {
            stream: 'PROJECTS',
            seq: i + 1,
            subject: 'projects.T-B',
            deliveries: 1,
          }),
        );
      }
      const closed = await get<
        TrialSummary & { status: string; lateReports: number; locked: boolean }
      >('/v1/trials/T-B/summary');
      expect(closed.body).toMatchObject({
        status: 'closed',
        locked: false,
        reports: 1,
        lateReports: 1,
      });
      const items = await get<Page<CaseReport & { late: boolean }>>('/v1/trials/T-B/reports');
      expect(items.body.items.map((r) => r.late)).toEqual([true]);
      expect(
        (
          await get<Page<CaseReport & { late: boolean }>>('/v1/trials/T-A/reports')
        ).body.items.every((r) => !r.late),
      ).toBe(true);

      const lock: ProjectStatusChanged = {
        ...(events[1] as ProjectStatusChanged),
        id: newEventId(),
        reason: 'database lock',
        data: {
          projectId: 'T-B',
          from: 'closed' as const,
          to: 'locked' as const,
          effectiveAt: at(-1000),
        },
      };
      await perEvent.transaction((tx) =>
        trialStatus.apply(tx, lock, {
          stream: 'PROJECTS',
          seq: 3,
          subject: 'projects.T-B',
          deliveries: 1,
        }),
      );
      // A late duplicate of an older event changes nothing.
      await perEvent.transaction((tx) =>
        trialStatus.apply(tx, events[1]!, {
          stream: 'PROJECTS',
          seq: 2,
          subject: 'projects.T-B',
          deliveries: 2,
        }),
      );
      const locked = await get<{
        status: string;
        locked: boolean;
        lockedAt: string;
        closedAt: string;
      }>('/v1/trials/T-B/summary');
      expect(locked.body).toMatchObject({
        status: 'locked',
        locked: true,
        lockedAt: at(-1000),
        closedAt: at(-8e6),
      });
    });

    it('400s bad parameters with the failing fields', async () => {
      const r = await get<{ issues: { path: string }[] }>(
        '/v1/trials/T-A/reports?limit=0&from=yesterday&x=1',
      );
      expect(r.status).toBe(400);
      expect(r.body.issues.map((i) => i.path)).toEqual(expect.arrayContaining(['limit', 'from']));
      expect((await get('/v1/trials/T.A/summary')).status).toBe(400);
      const backwards = await get<{ issues: { path: string; message: string }[] }>(
        '/v1/trials/T-A/reports?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z',
      );
      expect(backwards.status).toBe(400);
      expect(backwards.body.issues).toEqual([{ path: 'from', message: 'is after to' }]);
      expect((await get('/v1/trials/T-A/reports?cursor=garbage')).status).toBe(400);
      expect((await get('/v1/trials/T-A/patients/P*/reports')).status).toBe(400);
    });
  });
});
