import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import type { SqlStore } from '../store/sql-store.js';
import { testStores } from '../testing/stores.js';
import { enqueue, outboxMigration, startOutboxRelay, type OutboxItem } from './outbox.js';

describe.each(testStores())('outbox on $kind', ({ open, cleanup }) => {
  let store: SqlStore;
  beforeAll(async () => {
    store = await open();
    await store.migrate('test-outbox', [outboxMigration(1)]);
  });
  afterAll(async () => {
    await store?.close();
    await cleanup();
  });

  const item = (id: string): OutboxItem => ({ id, kind: 'test', payload: { id } });

  it('queues with the transaction: a rolled-back transaction queues nothing', async () => {
    await expect(
      store.transaction(async (tx) => {
        await enqueue(tx, [item('lost')]);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    const done: string[] = [];
    const relay = startOutboxRelay({
      store,
      log: createLogger('test'),
      handle: (i) => Promise.resolve(void done.push(i.id)),
    });
    await relay.stop();
    expect(await relay.drain()).toBe(0);
    expect(done).toEqual([]);
  });

  it('does each effect once, in order, also when queued twice; retries a failing one', async () => {
    await store.transaction((tx) => enqueue(tx, [item('a'), item('b')]));
    await store.transaction((tx) => enqueue(tx, [item('a'), item('c')])); // a again: not added
    const done: string[] = [];
    let failures = 1;
    const relay = startOutboxRelay({
      store,
      log: createLogger('test'),
      handle: (i) => {
        if (i.id === 'b' && failures-- > 0) return Promise.reject(new Error('NATS is down'));
        done.push(i.id);
        return Promise.resolve();
      },
      pollMs: 20,
    });
    await expect.poll(() => done, { timeout: 10_000 }).toEqual(['a', 'c', 'b']);
    await relay.stop();
    const { rows } = await store.query<{ id: string; attempts: number }>(
      'SELECT id, attempts FROM cohort_outbox WHERE sent_at IS NOT NULL ORDER BY id',
    );
    expect(rows).toEqual([
      { id: 'a', attempts: 0 },
      { id: 'b', attempts: 1 },
      { id: 'c', attempts: 0 },
    ]);
  });
});
