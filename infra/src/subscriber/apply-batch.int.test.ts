import { parseReportsEvent, type ReportsEvent, type ReportSubmitted } from '@cohort/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlStore } from '../store/sql-store.js';
import { reportSubmitted } from '../testing/events.js';
import { testStores } from '../testing/stores.js';
import { applyBatch, type BatchItem } from './apply-batch.js';
import { PermanentError } from './errors.js';
import { INBOX_MIGRATIONS } from './inbox.js';
import type { Projection } from './projection.js';

const CONSUMER = 'apply-batch-test';

/**
 * Records each report's patient in `applied`, keyed by requestId. Patients named for a failure
 * fail that way: PERMANENT-* throw a PermanentError, TRANSIENT-* a plain error, NEGATIVE-* break
 * a check constraint, TAKEN-* a unique key of the projection's own.
 */
const projection: Projection<ReportsEvent> = {
  consumer: { stream: 'REPORTS', name: CONSUMER },
  parse: parseReportsEvent,
  migrations: [
    {
      version: 1,
      name: 'applied',
      sql: `CREATE TABLE applied (
        request_id text PRIMARY KEY,
        patient_id text NOT NULL,
        score int NOT NULL CHECK (score >= 0)
      );
      CREATE TABLE taken (patient_id text PRIMARY KEY);
      INSERT INTO taken VALUES ('TAKEN-1');`,
    },
  ],
  key: (e) => e.data.requestId,
  async apply(tx, e) {
    const patient = e.data.patientId;
    if (patient.startsWith('PERMANENT')) throw new PermanentError(`no trial for ${patient}`);
    if (patient.startsWith('TRANSIENT')) throw new Error(`try ${patient} later`);
    if (patient.startsWith('TAKEN')) await tx.query('INSERT INTO taken VALUES ($1)', [patient]);
    await tx.query('INSERT INTO applied VALUES ($1, $2, $3)', [
      e.data.requestId,
      patient,
      patient.startsWith('NEGATIVE') ? -1 : 1,
    ]);
  },
};

let seq = 0;
function item(patientId: string, requestId?: string): BatchItem & { event: ReportSubmitted } {
  const event = reportSubmitted({ patientId, requestId });
  return {
    event,
    meta: { stream: 'REPORTS', seq: ++seq, subject: 'reports.T.P', deliveries: 1 },
    key: event.data.requestId,
  };
}

describe.each(testStores())('applyBatch on $kind', ({ open, cleanup }) => {
  let store: SqlStore;

  beforeAll(async () => {
    store = await open();
    await store.migrate('cohort', INBOX_MIGRATIONS);
    await store.migrate(CONSUMER, projection.migrations);
  });
  afterAll(async () => {
    await store?.close();
    await cleanup();
  });

  const patients = async (items: BatchItem[]) => {
    const { rows } = await store.query<{ patient_id: string }>(
      'SELECT patient_id FROM applied WHERE request_id = ANY($1) ORDER BY patient_id',
      [items.map((i) => i.key)],
    );
    return rows.map((r) => r.patient_id);
  };
  const inboxRows = async (items: BatchItem[]) => {
    const { rows } = await store.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM cohort_inbox WHERE consumer = $1 AND key = ANY($2)',
      [CONSUMER, items.map((i) => i.key)],
    );
    return rows[0]!.n;
  };

  it('applies a fresh batch whole, with an inbox row per message', async () => {
    const items = ['A1', 'A2', 'A3'].map((p) => item(p));
    const outcome = await applyBatch(store, projection, CONSUMER, items);
    expect(outcome).toEqual({ applied: items, skipped: [], failed: [] });
    expect(await patients(items)).toEqual(['A1', 'A2', 'A3']);
    expect(await inboxRows(items)).toBe(3);
  });

  it('skips the keys applied before and applies the new ones of the same batch', async () => {
    const before = ['B1', 'B2'].map((p) => item(p));
    await applyBatch(store, projection, CONSUMER, before);
    const again = before.map((b) => item(b.event.data.patientId, b.key)); // redelivered copies
    const fresh = ['B3', 'B4'].map((p) => item(p));
    const outcome = await applyBatch(store, projection, CONSUMER, [
      again[0]!,
      fresh[0]!,
      again[1]!,
      fresh[1]!,
    ]);
    expect(outcome.applied).toEqual(fresh);
    expect(outcome.skipped).toEqual(again);
    expect(outcome.failed).toEqual([]);
    expect(await patients([...before, ...fresh])).toEqual(['B1', 'B2', 'B3', 'B4']);
  });

  it('applies the first of copies within one batch and skips the rest', async () => {
    const first = item('C1');
    const copy = item('C1', first.key);
    const other = item('C2');
    const outcome = await applyBatch(store, projection, CONSUMER, [first, copy, other]);
    expect(outcome.applied).toEqual([first, other]);
    expect(outcome.skipped).toEqual([copy]);
    const { rows } = await store.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM applied WHERE request_id = $1',
      [first.key],
    );
    expect(rows[0]!.n).toBe(1);
  });

  it('isolates a failing message: the others of its batch are applied', async () => {
    const ok = ['D1', 'D2', 'D3'].map((p) => item(p));
    const failing = item('TRANSIENT-D');
    const outcome = await applyBatch(store, projection, CONSUMER, [
      ok[0]!,
      failing,
      ok[1]!,
      ok[2]!,
    ]);
    expect(outcome.applied).toEqual(ok);
    expect(outcome.failed).toEqual([
      { item: failing, error: 'Error: try TRANSIENT-D later', kind: 'transient' },
    ]);
    expect(await patients([...ok, failing])).toEqual(['D1', 'D2', 'D3']);
    // Its inbox row went with its work: a retry applies it.
    expect(await inboxRows([failing])).toBe(0);
  });

  it('classifies failures: PermanentError and data or constraint errors are permanent', async () => {
    const ok = item('E1');
    const permanent = item('PERMANENT-E');
    const negative = item('NEGATIVE-E'); // check constraint: SQLSTATE 23514
    const taken = item('TAKEN-1'); // the projection's own unique key: 23505
    const transient = item('TRANSIENT-E');
    const outcome = await applyBatch(store, projection, CONSUMER, [
      permanent,
      ok,
      negative,
      taken,
      transient,
    ]);
    expect(outcome.applied).toEqual([ok]);
    const kinds = new Map(outcome.failed.map((f) => [f.item, f.kind]));
    expect(kinds).toEqual(
      new Map([
        [permanent, 'permanent'],
        [negative, 'permanent'],
        [taken, 'permanent'],
        [transient, 'transient'],
      ]),
    );
    expect(outcome.failed.find((f) => f.item === permanent)?.error).toBe(
      'PermanentError: no trial for PERMANENT-E',
    );
  });

  it('classifies the failure of a batch of one without isolating it', async () => {
    const one = item('NEGATIVE-F');
    const outcome = await applyBatch(store, projection, CONSUMER, [one]);
    expect(outcome.failed).toEqual([
      { item: one, error: expect.stringMatching(/check constraint/) as unknown, kind: 'permanent' },
    ]);
    expect(await inboxRows([one])).toBe(0);
  });

  it('does not take a key applied before for a failure, even when its copy fails', async () => {
    const done = item('G1');
    await applyBatch(store, projection, CONSUMER, [done]);
    // Same key, a patient that would fail: the inbox skips it before the projection sees it.
    const copy = item('PERMANENT-G', done.key);
    const outcome = await applyBatch(store, projection, CONSUMER, [copy, item('G2')]);
    expect(outcome.skipped).toEqual([copy]);
    expect(outcome.failed).toEqual([]);
  });
});
