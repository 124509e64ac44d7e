import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { NatsServer } from '@cohort/infra/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropSchemas, edcEnv, getJson, summary } from '../support/edc.js';
import { as, identity } from '../support/identity.js';
import { reportBody } from '../support/reports.js';
import { REPO_ROOT, ServiceProcess } from '../support/service-process.js';

const TRIAL = 'E2E-PROJECT';
const REPORTS = 50;

let nats: NatsServer;
let pm: ServiceProcess;
let api: ServiceProcess;
let edc: ServiceProcess;

async function postJson(url: string, body: unknown, headers: Record<string, string>) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const submit = (i: number) =>
  postJson(`${api.url}/v1/reports`, reportBody(TRIAL, `P${i % 5}`, i), as.gateway);
const changeStatus = (to: string, expectedVersion: number, reason?: string) =>
  postJson(
    `${pm.url}/v1/projects/${TRIAL}/status`,
    { to, expectedVersion, ...(reason ? { reason } : {}) },
    as.sponsor,
  );

beforeAll(async () => {
  nats = await NatsServer.start();
  // Each service provisions the topology it needs at start.
  pm = await ServiceProcess.start('project-management', await edcEnv(nats.url));
  [api, edc] = await Promise.all([
    ServiceProcess.start('epro-api', { NATS_URL: nats.url }),
    edcEnv(nats.url).then((env) => ServiceProcess.start('edc', env)),
  ]);
});

afterAll(async () => {
  await Promise.all([pm?.stop(), api?.stop(), edc?.stop()]);
  await nats?.dispose();
  await dropSchemas();
});

describe('a trial project whose status changes fan out to every service', () => {
  it('is created and activated; epro-api accepts reports only then', async () => {
    expect((await submit(0)).status).toBe(404); // no such trial yet
    const created = await postJson(
      `${pm.url}/v1/projects`,
      {
        requestId: crypto.randomUUID(),
        projectId: TRIAL,
        name: 'Sleep quality after surgery',
      },
      as.sponsor,
    );
    expect(created).toMatchObject({ status: 201, body: { status: 'planned', version: 1 } });
    await expect.poll(async () => (await submit(0)).body.status).toBe('planned');
    expect((await changeStatus('enrolling', 1, 'sites ready')).status).toBe(200);
    expect((await changeStatus('active', 2, 'first patient in')).status).toBe(200);
    await expect.poll(async () => (await submit(0)).status, { timeout: 10_000 }).toBe(202);
    const statuses = await Promise.all(
      Array.from({ length: REPORTS - 1 }, (_, i) => submit(i + 1)),
    );
    expect(statuses.every((r) => r.status === 202)).toBe(true);
  });

  it('closed: submissions are refused with 409, and edc shows it closed', async () => {
    expect(await changeStatus('closed', 3)).toMatchObject({ status: 400 }); // a reason is required
    expect(await changeStatus('closed', 3, 'enrolment target met')).toMatchObject({
      status: 200,
      body: { version: 4 },
    });
    await expect.poll(async () => (await submit(999)).status, { timeout: 10_000 }).toBe(409);
    expect((await submit(1000)).body).toMatchObject({
      error: 'trial_not_accepting',
      status: 'closed',
    });
    await expect
      .poll(async () => summary(edc, TRIAL), { timeout: 30_000 })
      .toMatchObject({
        reports: REPORTS,
        patients: 5,
        status: 'closed',
        locked: false,
        lateReports: 0,
      });
  });

  it('locked: edc marks the trial locked', async () => {
    expect(await changeStatus('active', 4, 'reopen')).toMatchObject({
      status: 422,
      body: { error: 'transition_not_allowed', allowed: ['locked'] },
    });
    expect((await changeStatus('locked', 4, 'database lock for analysis')).status).toBe(200);
    await expect
      .poll(async () => summary(edc, TRIAL), { timeout: 10_000 })
      .toMatchObject({ status: 'locked', locked: true });
  });

  it('the history shows who and why for each change; the portfolio counts the reports', async () => {
    const h = await getJson<{
      items: { from: string | null; to: string; actor: { id: string }; reason: string | null }[];
    }>(`${pm.url}/v1/projects/${TRIAL}/history`);
    expect(h.body.items.map((i) => [i.from, i.to, i.actor.id])).toEqual([
      [null, 'planned', 'dr.lee'],
      ['planned', 'enrolling', 'dr.lee'],
      ['enrolling', 'active', 'dr.lee'],
      ['active', 'closed', 'dr.lee'],
      ['closed', 'locked', 'dr.lee'],
    ]);
    expect(h.body.items.slice(1).map((i) => i.reason)).toEqual([
      'sites ready',
      'first patient in',
      'enrolment target met',
      'database lock for analysis',
    ]);
    await expect
      .poll(async () => (await getJson<{ items: unknown[] }>(`${pm.url}/v1/projects`)).body.items, {
        timeout: 10_000,
      })
      .toEqual([expect.objectContaining({ projectId: TRIAL, status: 'locked', reports: REPORTS })]);
  });

  it('cohort seed creates and activates the demo trials, and can run again', async () => {
    const demo = ['DEMO-SLEEP', 'DEMO-PAIN', 'DEMO-MOOD'];
    const seedToken = await identity.sign({ sub: 'cohort-seed', role: 'sponsor', trials: demo });
    const coordinatorToken = await identity.sign({
      sub: 'cohort-seed-crc',
      role: 'coordinator',
      trials: demo,
    });
    const run = () =>
      promisify(execFile)(
        process.execPath,
        [join(REPO_ROOT, 'infra', 'bin', 'cohort.mjs'), 'seed'],
        {
          env: {
            ...process.env,
            ...identity.env,
            PROJECT_MANAGEMENT_URL: pm.url,
            COHORT_TOKEN: seedToken,
            COHORT_COORDINATOR_TOKEN: coordinatorToken,
          },
        },
      );
    const first = await run();
    expect(first.stdout).toMatch(/DEMO-SLEEP +active/);
    await run(); // idempotent
    await expect
      .poll(
        async () =>
          (
            await getJson<{ items: { projectId: string; status: string }[] }>(
              `${pm.url}/v1/projects`,
            )
          ).body.items,
      )
      .toEqual(
        expect.arrayContaining(
          ['DEMO-MOOD', 'DEMO-PAIN', 'DEMO-SLEEP'].map((projectId) =>
            expect.objectContaining({ projectId, status: 'active' }),
          ),
        ),
      );
    await expect
      .poll(
        async () =>
          (await postJson(`${api.url}/v1/reports`, reportBody('DEMO-SLEEP', 'P-1'), as.gateway))
            .status,
      )
      .toBe(202);
  });
});
