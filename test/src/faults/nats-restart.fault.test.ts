import { NatsServer } from '@cohort/infra/testing';
import { afterAll, expect, it } from 'vitest';
import { expectEdcExact, expectExactlyOnce, requestIdsInStream } from './support/accounting.js';
import { burst, describeBurst } from './support/phones.js';
import { startServices, submissions, type FaultServices } from './support/services.js';

const TRIAL = 'FAULT-NATS-KILL';
const N = 2_000;
const PHONES = 50;
const PATIENTS = 40;

let nats: NatsServer | undefined;
let services: FaultServices | undefined;

afterAll(async () => {
  await services?.stop();
  await nats?.dispose();
});

it('nats-server SIGKILLed mid-burst and restarted on its store: every 202 stored once, in REPORTS and the EDC, no service restarted', async () => {
  nats = await NatsServer.start();
  services = await startServices(nats.url, TRIAL);
  const { api, edc, conn } = services;
  const pids = [api.proc.pid, edc.proc.pid];

  const load = burst(() => api.url, submissions(TRIAL, N, PATIENTS), PHONES);
  await load.accepted(N / 3);
  await nats.stop('SIGKILL');
  const acceptedWhileUp = load.stats.accepted.size;
  // Long enough that the phones meet the outage: 503s and refused connections, not a blip.
  await new Promise((r) => setTimeout(r, 2_000));
  await nats.restart();
  const stats = await load.done;
  console.info(`nats-server kill and restart: ${describeBurst(stats)}`);

  expect(Object.fromEntries(stats.refused)).toEqual({});
  expect(stats.accepted.size).toBe(N);
  expect(acceptedWhileUp).toBeLessThan(N);
  expect(stats.unavailable + stats.unanswered).toBeGreaterThan(0);
  expectExactlyOnce('REPORTS', stats.accepted, await requestIdsInStream(conn, 'REPORTS'));
  await expectEdcExact(edc, TRIAL, stats.accepted, conn, PATIENTS);
  expect([api.proc.pid, edc.proc.pid]).toEqual(pids);
  expect([api.proc.exitCode, edc.proc.exitCode]).toEqual([null, null]);
});
