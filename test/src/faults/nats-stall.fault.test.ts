import { NatsServer } from '@cohort/infra/testing';
import { afterAll, expect, it } from 'vitest';
import { expectEdcExact, expectExactlyOnce, requestIdsInStream } from './support/accounting.js';
import { burst, describeBurst } from './support/phones.js';
import { startServices, submissions, type FaultServices } from './support/services.js';

const TRIAL = 'FAULT-NATS-STALL';
const N = 2_000;
const PHONES = 50;
const PATIENTS = 40;
/**
 * Impatient phones: shorter than a busy epro-api's slowest answers, so resends race the
 * requests they repeat (the request ledger and the stream's Nats-Msg-Id dedup must settle them).
 */
const ANSWER_TIMEOUT_MS = 300;
/** Longer than epro-api waits for a publish ack (5 s). */
const STALL_MS = 6_000;

let nats: NatsServer | undefined;
let services: FaultServices | undefined;

afterAll(async () => {
  if (nats?.pid) process.kill(nats.pid, 'SIGCONT');
  await services?.stop();
  await nats?.dispose();
});

it('impatient phones, and nats-server stalled mid-burst (SIGSTOP) past every timeout, then resumed: resends racing the requests they repeat are stored once', async () => {
  nats = await NatsServer.start();
  services = await startServices(nats.url, TRIAL);
  const { api, edc, conn } = services;
  const pids = [api.proc.pid, edc.proc.pid];

  const load = burst(() => api.url, submissions(TRIAL, N, PATIENTS), PHONES, ANSWER_TIMEOUT_MS);
  await load.accepted(N / 3);
  // A stalled disk or a paused VM: the publishes in flight wait in the server's socket, the
  // phones give up and resend, and when it resumes it stores the originals after all.
  process.kill(nats.pid!, 'SIGSTOP');
  await new Promise((r) => setTimeout(r, STALL_MS));
  process.kill(nats.pid!, 'SIGCONT');
  const stats = await load.done;
  console.info(`nats-server stall: ${describeBurst(stats)}`);

  expect(Object.fromEntries(stats.refused)).toEqual({});
  expect(stats.accepted.size).toBe(N);
  expect(stats.unavailable + stats.unanswered).toBeGreaterThan(0);
  expectExactlyOnce('REPORTS', stats.accepted, await requestIdsInStream(conn, 'REPORTS'));
  await expectEdcExact(edc, TRIAL, stats.accepted, conn, PATIENTS);
  expect([api.proc.pid, edc.proc.pid]).toEqual(pids);
});
