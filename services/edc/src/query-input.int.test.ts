import {
  createLogger,
  ServiceMetrics,
  type SqlStore,
  authenticatedAs,
  conformingToOpenApi,
  reportSubmitted,
  testStores,
  testTokens,
} from '@cohort/infra/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from './app.js';
import { caseReports, migrations } from './case-reports.js';
import { trialStatus } from './trial-status.js';
import type { CaseReport, Page } from './queries.js';

const TRIAL = 'T-Q';
const tokens = await testTokens();
const investigator = await tokens.header({ sub: 'dr.ng', role: 'investigator', trials: ['*'] });
const REPORTS = 7;

/** The EDC app over `db`: the one place that knows how the app is put together. */
function appOver(db: SqlStore) {
  return authenticatedAs(
    conformingToOpenApi(
      createApp({
        auth: tokens.keys,
        db,
        metrics: new ServiceMetrics('edc', { defaults: false }),
        log: createLogger('edc', { level: 'silent' }),
        ready: {},
      }),
    ),
    investigator,
  );
}

const cursorOf = (s: string) => Buffer.from(s).toString('base64url');
const uuid = '0190a5b2-1c3d-7e4f-8a9b-0c1d2e3f4a5b';

describe.each(testStores())('EDC query input on $kind', ({ open, cleanup }) => {
  let db: SqlStore;
  let app: ReturnType<typeof appOver>;

  beforeAll(async () => {
    db = await open();
    await db.migrate('edc-case-reports', migrations);
    await db.migrate('edc-trial-status', trialStatus.migrations);
    for (let i = 0; i < REPORTS; i++) {
      const event = reportSubmitted({
        trialId: TRIAL,
        patientId: `P${i % 3}`,
        completedAt: new Date(Date.UTC(2026, 0, 1, 8, i)).toISOString(),
      });
      await db.transaction((tx) =>
        caseReports.apply(tx, event, {
          stream: 'REPORTS',
          seq: i + 1,
          subject: `reports.${TRIAL}.P${i % 3}`,
          deliveries: 1,
        }),
      );
    }
    app = appOver(db);
  });

  afterAll(async () => {
    await db?.close();
    await cleanup();
  });

  const get = async (path: string) => {
    const res = await app.request(path);
    return { status: res.status, body: (await res.json()) as { issues?: { path: string }[] } };
  };

  it.each([
    ['cursor', cursorOf(`2021-02-30T00:00:00.000Z|${uuid}`)],
    ['cursor', cursorOf(`2021-02-30|${uuid}`)],
    ['cursor', cursorOf(`2026-01-01T08:00:00.000Z|${'-'.repeat(36)}`)],
    ['cursor', cursorOf(`0|${uuid}`)],
    ['cursor', cursorOf(`0000-01-01T00:00:00.000Z|${uuid}`)],
    ['cursor', cursorOf(`2026-01-01T08:00:00.000Z|${uuid}|x`)],
    ['cursor', `${cursorOf(`2026-01-01T08:00:00.000Z|${uuid}`)}!!`],
    ['cursor', cursorOf(`2026-01-01T08:00:00.000Z|${uuid.toUpperCase().replace('7', 'G')}`)],
    ['to', '0000-01-01T00:00:00Z'],
    ['from', '0000-01-01T00:00:00Z'],
    ['from', '2021-02-30T00:00:00Z'],
  ])('answers 400 naming %s to %s', async (name, value) => {
    for (const path of [`/v1/trials/${TRIAL}/reports`, `/v1/trials/${TRIAL}/patients/P1/reports`]) {
      const r = await get(`${path}?${name}=${encodeURIComponent(value)}`);
      expect(r.status, path).toBe(400);
      expect(r.body.issues?.map((i) => i.path)).toEqual([name]);
    }
  });

  it('still pages with the cursors it hands out', async () => {
    const seen: string[] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const res = await app.request(
        `/v1/trials/${TRIAL}/reports?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(res.status).toBe(200);
      const page = (await res.json()) as Page<CaseReport>;
      seen.push(...page.items.map((i) => i.eventId));
      cursor = page.nextCursor;
    }
    expect(seen).toHaveLength(REPORTS);
    expect(new Set(seen).size).toBe(REPORTS);
  });

  it('pages past reports completed within the same millisecond', async () => {
    // timestamptz keeps microseconds; a cursor holding only milliseconds would repeat a page.
    const trial = 'T-MICRO';
    for (const [i, micros] of ['000100', '000200', '000300'].entries()) {
      const event = reportSubmitted({
        trialId: trial,
        patientId: 'P1',
        completedAt: `2026-01-01T08:00:00.${micros}Z`,
      });
      await db.transaction((tx) =>
        caseReports.apply(tx, event, {
          stream: 'REPORTS',
          seq: 100 + i,
          subject: `reports.${trial}.P1`,
          deliveries: 1,
        }),
      );
    }
    const seen: string[] = [];
    let cursor: string | null = '';
    for (let pages = 0; cursor !== null && pages < 5; pages++) {
      const res = await app.request(
        `/v1/trials/${trial}/reports?limit=1${cursor ? `&cursor=${cursor}` : ''}`,
      );
      const page = (await res.json()) as Page<CaseReport>;
      seen.push(...page.items.map((i) => i.eventId));
      cursor = page.nextCursor;
    }
    expect(cursor).toBeNull();
    expect(new Set(seen).size).toBe(3);
    expect(seen).toHaveLength(3);
  });

  it('never answers 5xx, whatever the path parameters and query', async () => {
    const datePart = fc
      .tuple(
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 13 }),
        fc.integer({ min: 0, max: 32 }),
      )
      .map(
        ([y, m, d]) =>
          `${y}`.padStart(4, '0') + `-${`${m}`.padStart(2, '0')}-${`${d}`.padStart(2, '0')}`,
      );
    const instantish = fc.oneof(
      datePart,
      datePart.map((d) => `${d}T00:00:00Z`),
      datePart.map((d) => `${d}T23:59:59.999999Z`),
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      fc.constantFrom('0', '-1', '1e400', 'now', '', '2026-01-01T08:00:00.000Z'),
    );
    const uuidish = fc.oneof(
      fc.uuid(),
      fc.constantFrom(uuid, '-'.repeat(36), 'f'.repeat(36), '', 'x'),
      fc.string({ unit: 'binary', maxLength: 40 }),
    );
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 30 }),
      fc.string({ unit: 'binary-ascii', maxLength: 30 }),
    );
    const cursor = fc
      .tuple(instantish, uuidish, fc.constantFrom('|', '|', '||', ''))
      .map(([a, b, sep]) => cursorOf(`${a}${sep}${b}`));
    // Raw, not URL-encoded: %00, broken escapes and invalid UTF-8 reach the app as sent.
    const raw = fc.constantFrom('%00', '%', '%zz', '%ff', '%C0%80', '%ED%A0%80', '+', '&', '=');
    const value = fc.oneof(text, instantish, fc.integer().map(String), fc.double().map(String));
    // Mostly the parameters the routes know, each with values near what it expects.
    const pair = fc.oneof(
      fc.tuple(fc.constant('cursor'), fc.oneof(cursor, value)),
      fc.tuple(fc.constantFrom('from', 'to'), fc.oneof(instantish, value)),
      fc.tuple(fc.constant('limit'), value),
      fc.tuple(fc.constant('patientId'), fc.oneof(fc.constantFrom('P1', 'P-2'), value)),
      fc.tuple(text, value),
    );
    const query = fc
      .array(fc.tuple(pair, fc.oneof(fc.constant(undefined), raw)), { maxLength: 4 })
      .map((pairs) =>
        pairs
          .map(([[k, v], rawValue]) =>
            rawValue === undefined
              ? `${encodeURIComponent(k)}=${encodeURIComponent(v)}`
              : `${encodeURIComponent(k)}=${rawValue}`,
          )
          .join('&'),
      );
    const segment = fc.oneof(
      fc.constantFrom(TRIAL, 'P1', 'NOPE', '%00', '%2F', '..', 'x'.repeat(65)),
      text.filter((s) => s.length > 0).map(encodeURIComponent),
    );
    const route = fc.oneof(
      fc.tuple(segment).map(([t]) => `/v1/trials/${t}/reports`),
      fc.tuple(segment, segment).map(([t, p]) => `/v1/trials/${t}/patients/${p}/reports`),
      fc.tuple(segment).map(([t]) => `/v1/trials/${t}/summary`),
    );
    await fc.assert(
      fc.asyncProperty(route, query, async (path, q) => {
        const res = await app.request(`${path}?${q}`);
        expect(res.status, `${path}?${q}: ${await res.text()}`).toBeLessThan(500);
      }),
      { numRuns: 1_000 },
    );
  });
});
