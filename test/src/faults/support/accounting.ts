import { type Connection } from '@cohort/infra';
import { jetstreamManager } from '@nats-io/jetstream';
import { expect } from 'vitest';
import { allReports, summary } from '../../support/edc.js';
import { type ServiceProcess } from '../../support/service-process.js';

const decoder = new TextDecoder();

/** How long the accounting retries a JetStream request that a cluster in flux let time out. */
const SETTLE_TIMEOUT_MS = 30_000;

/**
 * How many times each requestId is stored in a stream's events.
 * Tried again while requests time out: a cluster that just lost a member may still be electing
 * leaders (of the stream, or of the whole cluster's metadata) when the reading starts.
 */
export async function requestIdsInStream(
  conn: Connection,
  stream: string,
  /** Who reads the messages, when `conn` may only ask for the stream's state (admin). */
  reader: Connection = conn,
): Promise<Map<string, number>> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    try {
      return await readRequestIds(conn, reader, stream);
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

async function readRequestIds(
  conn: Connection,
  reader: Connection,
  stream: string,
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const { first_seq, last_seq } = (await (await jetstreamManager(conn.nc)).streams.info(stream))
    .state;
  const jsm = await jetstreamManager(reader.nc, { checkAPI: false });
  // Message by message: needs only the right to read the stream, no consumer.
  for (let seq = first_seq; seq > 0 && seq <= last_seq; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq });
    if (!m) continue;
    const event = JSON.parse(decoder.decode(m.data)) as { data: { requestId: string } };
    counts.set(event.data.requestId, (counts.get(event.data.requestId) ?? 0) + 1);
  }
  return counts;
}

/** How many times each requestId is among the EDC's case reports of a trial. */
export async function requestIdsInEdc(
  edc: Pick<ServiceProcess, 'url'>,
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
  const examples = {
    twice: twice.slice(0, 3),
    missing: missing.slice(0, 3),
    unasked: unasked.slice(0, 3),
  };
  expect(
    { where, twice: twice.length, missing: missing.length, unasked: unasked.length },
    `requestIds stored more than once, accepted and not stored, stored and not accepted: ${JSON.stringify(examples)}`,
  ).toEqual({ where, twice: 0, missing: 0, unasked: 0 });
}

/**
 * The EDC holds exactly the accepted reports of the trial, once each, and counts them so: waits
 * until its consumer has nothing left to deliver, then checks the case reports by requestId, the
 * trial's summary (a redelivery applied twice counts twice there), and that nothing was
 * dead-lettered (a redelivery refused by a unique key ends there).
 */
export async function expectEdcExact(
  edc: Pick<ServiceProcess, 'url'>,
  trialId: string,
  accepted: ReadonlySet<string>,
  conn: Connection,
  patients: number,
): Promise<void> {
  await expect
    .poll(async () => (await summary(edc, trialId).catch(() => ({ reports: -1 }))).reports, {
      timeout: 90_000,
      interval: 500,
    })
    .toBeGreaterThanOrEqual(accepted.size);
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
  expectExactlyOnce('EDC', accepted, await requestIdsInEdc(edc, trialId));
  expect(await summary(edc, trialId)).toMatchObject({ reports: accepted.size, patients });
  expect((await jsm.streams.info('ADVISORIES')).state.messages, 'dead letters').toBe(0);
}
