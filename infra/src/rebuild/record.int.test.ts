import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlStore } from '../store/sql-store.js';
import { testStores } from '../testing/stores.js';
import {
  claimLease,
  finish,
  readRecord,
  REBUILD_MIGRATIONS,
  REBUILD_NAMESPACE,
  recordProgress,
  type Claim,
} from './record.js';

const claim = (consumer: string, owner: string): Claim => ({
  consumer,
  owner,
  startedBy: { id: 'ops.kim', role: 'ops' },
  reason: 'test',
  onFailure: 'stop',
  shadowSchema: 'shadow',
  targetSeq: 100,
});
const progress = (appliedSeq: number) => ({ appliedSeq, applied: 5, skipped: 1, deadLettered: 0 });
/** A lease short enough to run out within a test; nothing asserts that it has not yet. */
const SHORT_LEASE_MS = 200;

describe.each(testStores())('the rebuild lease on $kind', ({ open, cleanup }) => {
  let store: SqlStore;
  beforeAll(async () => {
    store = await open();
    await store.migrate(REBUILD_NAMESPACE, REBUILD_MIGRATIONS);
  });
  afterAll(async () => {
    await store?.close();
    await cleanup();
  });

  it('is held by one rebuild; once it runs out another takes it over and resumes', async () => {
    const first = await claimLease(store, claim('c-lease', 'A'), SHORT_LEASE_MS);
    expect(first).toMatchObject({ resumed: false, record: { status: 'running', appliedSeq: 0 } });
    expect(await recordProgress(store, 'c-lease', 'A', progress(40))).toBe(true);
    // Renewed within the lease (the default one, so however slow the machine): nobody else gets it.
    expect(await claimLease(store, claim('c-lease', 'B'))).toBeNull();

    // A's process dies: no heartbeat. Past the lease it reads as interrupted, and B resumes.
    await expect
      .poll(async () => (await readRecord(store, 'c-lease', SHORT_LEASE_MS))?.status, {
        timeout: 10_000,
      })
      .toBe('interrupted');
    const second = await claimLease(store, claim('c-lease', 'B'), SHORT_LEASE_MS);
    expect(second).toMatchObject({
      resumed: true,
      record: { status: 'running', owner: 'B', appliedSeq: 40, applied: 5 },
    });
    // A, should it wake up, finds the lease gone and changes nothing.
    expect(await recordProgress(store, 'c-lease', 'A', progress(90))).toBe(false);
    expect(await finish(store, 'c-lease', 'A', 'interrupted')).toBe(false);
    expect(await readRecord(store, 'c-lease', SHORT_LEASE_MS)).toMatchObject({
      owner: 'B',
      appliedSeq: 40,
    });
  });

  it('starts over from sequence 1 after a swap, and resumes after a failure', async () => {
    await claimLease(store, claim('c-again', 'A'));
    await recordProgress(store, 'c-again', 'A', progress(30));
    await finish(store, 'c-again', 'A', 'failed', { failedSeq: 31, error: 'no such patient' });
    expect(await readRecord(store, 'c-again')).toMatchObject({
      status: 'failed',
      failedSeq: 31,
      error: 'no such patient',
    });
    const resumed = await claimLease(store, claim('c-again', 'B'));
    expect(resumed).toMatchObject({
      resumed: true,
      record: { appliedSeq: 30, failedSeq: null, error: null },
    });
    await finish(store, 'c-again', 'B', 'swapped', { effectsMerged: 0 });
    const fresh = await claimLease(store, claim('c-again', 'C'));
    expect(fresh).toMatchObject({ resumed: false, record: { appliedSeq: 0, applied: 0 } });
  });
});
