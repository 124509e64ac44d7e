import { NatsServer } from '@cohort/infra/testing';
import { afterAll, expect, it } from 'vitest';
import { ServiceProcess } from '../support/service-process.js';
import { expectEdcExact, expectExactlyOnce, requestIdsInStream } from './support/accounting.js';
import { burst, describeBurst } from './support/phones.js';
import { startServices, submissions, type FaultServices } from './support/services.js';

const TRIAL = 'FAULT-API-KILL';
const N = 2_000;
const PHONES = 50;
const PATIENTS = 40;

let nats: NatsServer | undefined;
let services: FaultServices | undefined;
let restarted: ServiceProcess | undefined;

afterAll(async () => {
  await restarted?.stop('SIGKILL');
  await services?.stop();
  await nats?.dispose();
});

it('epro-api SIGKILLed mid-burst and started again, phones resending: every 202 stored once, in REPORTS and the EDC', async () => {
  nats = await NatsServer.start();
  services = await startServices(nats.url, TRIAL);
  const { edc, conn } = services;
  const edcPid = edc.proc.pid;
  let api = services.api;

  const load = burst(() => api.url, submissions(TRIAL, N, PATIENTS), PHONES);
  await load.accepted(N / 3);
  // Killed with requests in flight: some stored and never answered, some reserved in the
  // request ledger and not yet published. The phones' resends must settle both.
  await api.stop('SIGKILL');
  restarted = await ServiceProcess.start('epro-api', { NATS_URL: nats.url });
  api = restarted;
  const stats = await load.done;
  console.info(`epro-api kill and restart: ${describeBurst(stats)}`);

  expect(Object.fromEntries(stats.refused)).toEqual({});
  expect(stats.accepted.size).toBe(N);
  expect(stats.unanswered).toBeGreaterThan(0);
  expectExactlyOnce('REPORTS', stats.accepted, await requestIdsInStream(conn, 'REPORTS'));
  await expectEdcExact(edc, TRIAL, stats.accepted, conn, PATIENTS);
  expect(edc.proc.pid).toBe(edcPid);
  expect(edc.proc.exitCode).toBeNull();
});
