import { type Connection } from '@cohort/infra';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { expect } from 'vitest';
import { allReports, summary } from '../../support/edc.js';
import { type ServiceProcess } from '../../support/service-process.js';

const decoder = new TextDecoder();

/** How many times each requestId is stored in a stream's events (read with an ordered consumer). */
export async function requestIdsInStream(
  conn: Connection,
  stream: string,
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const total = (await (await jetstreamManager(conn.nc)).streams.info(stream)).state.messages;
  if (total === 0) return counts;
  const consumer = await jetstream(conn.nc).consumers.get(stream);
  const messages = await consumer.consume();
  let seen = 0;
  for await (const m of messages) {
    const event = JSON.parse(decoder.decode(m.data)) as { data: { requestId: string } };
    counts.set(event.data.requestId, (counts.get(event.data.requestId) ?? 0) + 1);
    if (++seen >= total) break;
  }
  await messages.close();
  return counts;
}

/** How many times each requestId is among the EDC's case reports of a trial. */
export async function requestIdsInEdc(
  edc: ServiceProcess,
  trialId: string,
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const r of await allReports(edc, trialId)) {
    counts.set(r.requestId, (counts.get(r.requestId) ?? 0) + 1);
  }
  return counts;
}

/**
 * Every accepted requestId is stored exactly once, and nothing else is: the requestIds stored
 * more than once, and the accepted ones missing, are both empty.
 */
export function expectExactlyOnce(
  where: string,
  accepted: ReadonlySet<string>,
  stored: ReadonlyMap<string, number>,
): void {
  const twice = [...stored].filter(([, n]) => n > 1).map(([id]) => id);
  const missing = [...accepted].filter((id) => !stored.has(id));
  const unasked = [...stored.keys()].filter((id) => !accepted.has(id));
  expect({ where, twice, missing, unasked }).toEqual({
    where,
    twice: [],
    missing: [],
    unasked: [],
  });
}

/**
 * Waits until the EDC's summary counts `n` reports of the trial (or stops growing short of it,
 * which the exactly-once check then explains), and its consumer has nothing left to deliver.
 */
export async function edcCaughtUp(
  edc: ServiceProcess,
  trialId: string,
  n: number,
  conn: Connection,
): Promise<void> {
  await expect
    .poll(async () => (await summary(edc, trialId).catch(() => ({ reports: -1 }))).reports, {
      timeout: 90_000,
      interval: 500,
    })
    .toBeGreaterThanOrEqual(n);
  const jsm = await jetstreamManager(conn.nc);
  await expect
    .poll(
      async () => {
        const info = await jsm.consumers.info('REPORTS', 'edc-case-reports');
        return info.num_pending + info.num_ack_pending;
      },
      { timeout: 30_000, interval: 250 },
    )
    .toBe(0);
}
