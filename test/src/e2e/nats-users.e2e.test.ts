import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { reportSubject } from '@cohort/contracts';
import { Publisher, type Connection } from '@cohort/infra';
import {
  connect,
  natsConfigFile,
  natsDir,
  readCredentialsFile,
  NatsServer,
} from '@cohort/infra/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropSchemas, edcEnv, getJson, summary } from '../support/edc.js';
import { as, identity } from '../support/identity.js';
import { reportBody } from '../support/reports.js';
import { REPO_ROOT, ServiceProcess } from '../support/service-process.js';

const BIN = join(REPO_ROOT, 'infra', 'bin', 'cohort.mjs');
const TRIAL = 'E2E-USERS';
const REPORTS = 5;

let dataDir: string;
let nats: NatsServer;
const services: ServiceProcess[] = [];
let edc: ServiceProcess;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The real `cohort` binary with this test's DATA_DIR and no credentials in its environment: it
 * connects with the env file of its own user (admin for provision, cli for the rest).
 */
async function cohort(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const base: NodeJS.ProcessEnv = { ...process.env, ...identity.env };
  for (const v of ['NATS_USER', 'NATS_PASSWORD', 'NATS_TOKEN']) delete base[v];
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], {
      env: {
        ...base,
        NATS_URL: nats?.url ?? 'nats://127.0.0.1:4222',
        DATA_DIR: dataDir,
        COHORT_TOKEN: await identity.sign({ sub: 'ops.kim', role: 'ops', trials: [] }),
        ...env,
      },
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

/** A service as its own NATS user: nothing but DATA_DIR tells it who it is. */
async function start(name: string, opts: { waitReady?: boolean } = {}) {
  const env = { ...(await edcEnv(nats.url)), DATA_DIR: dataDir, NATS_USER: '', NATS_PASSWORD: '' };
  // Kept before it is ready, so a service that never gets ready is stopped too.
  const svc = await ServiceProcess.start(name, env, { waitReady: false });
  services.push(svc);
  if (opts.waitReady ?? true) await svc.waitReady();
  return svc;
}

async function postJson(url: string, body: unknown, headers: Record<string, string>) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

interface DeadLetterSummary {
  id: string;
  status: string;
  stream: string;
  seq: number;
}

async function deadLetters(): Promise<DeadLetterSummary[]> {
  const r = await cohort(['dlq', 'list', '--consumer', 'edc-case-reports', '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as DeadLetterSummary[];
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'cohort-users-'));
  const written = await cohort(['nats-config']);
  expect(written.code, written.stderr).toBe(0);
  nats = await NatsServer.startWithConfig(natsConfigFile(dataDir), natsDir(dataDir));
});

afterAll(async () => {
  await Promise.all(services.map((s) => s.stop()));
  await nats?.dispose();
  await rm(dataDir, { recursive: true, force: true });
  await dropSchemas();
});

describe('services and the CLI, each as its own NATS user', () => {
  it('a service that may not provision starts anyway, not ready until admin provisions', async () => {
    edc = await start('edc', { waitReady: false });
    const readiness = () =>
      getJson<{ checks: Record<string, string> }>(`${edc.url}/readyz`).catch(() => undefined);
    await expect
      .poll(async () => (await readiness())?.body.checks.topology ?? edc.output.join(''), {
        timeout: 30_000,
      })
      .toMatch(/missing: stream REPORTS.*cohort provision/);
    expect((await readiness())?.status).toBe(503);
    expect((await fetch(`${edc.url}/healthz`)).status).toBe(200);
    const provisioned = await cohort(['provision']);
    expect(provisioned.code, provisioned.stderr).toBe(0);
    expect(provisioned.stdout).toMatch(/created +consumer REPORTS\/edc-case-reports/);
    await edc.waitReady();
  });

  it('a trial is created and activated, and its reports reach edc', async () => {
    const [pm, api] = await Promise.all([start('project-management'), start('epro-api')]);
    const created = await postJson(
      `${pm.url}/v1/projects`,
      { requestId: crypto.randomUUID(), projectId: TRIAL, name: 'Least privilege' },
      as.sponsor,
    );
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    for (const [to, expectedVersion] of [
      ['enrolling', 1],
      ['active', 2],
    ] as const) {
      const r = await postJson(
        `${pm.url}/v1/projects/${TRIAL}/status`,
        { to, expectedVersion, reason: 'e2e' },
        as.sponsor,
      );
      expect(r.status, JSON.stringify(r.body)).toBe(200);
    }
    const submit = (i: number) =>
      postJson(`${api.url}/v1/reports`, reportBody(TRIAL, `P${i}`, i), as.gateway);
    await expect.poll(async () => (await submit(0)).status, { timeout: 10_000 }).toBe(202);
    for (let i = 1; i < REPORTS; i++) expect((await submit(i)).status).toBe(202);
    await expect
      .poll(async () => (await summary(edc, TRIAL)).reports, { timeout: 15_000 })
      .toBe(REPORTS);
    const statuses = await getJson<{ status: string }>(`${edc.url}/v1/trials/${TRIAL}/summary`);
    expect(statuses.body.status).toBe('active');
  });

  it('a dead letter is captured, listed and redriven with the CLI user', async () => {
    // A message edc can never apply, as a faulty epro-api would write it (only it may).
    let api: Connection | undefined;
    try {
      api = await connect({
        servers: nats.url,
        name: 'faulty-epro-api',
        ...readCredentialsFile(dataDir, 'epro-api'),
      });
      await new Publisher(api).publish(
        reportSubject(TRIAL, 'P-BAD'),
        new TextEncoder().encode('{}'),
      );
    } finally {
      await api?.drain();
    }
    await expect.poll(async () => (await deadLetters()).length, { timeout: 20_000 }).toBe(1);
    const [dl] = await deadLetters();
    expect(dl).toMatchObject({ status: 'open', stream: 'REPORTS' });
    const r = await cohort(['dlq', 'redrive', dl!.id, '--reason', 'e2e']);
    expect(r.code, r.stderr).toBe(0);
    // edc's redrive durable got the copy; still not an event, it is a dead letter again.
    await expect.poll(async () => (await deadLetters()).length, { timeout: 20_000 }).toBe(2);
    const after = await deadLetters();
    expect(after.find((d) => d.id === dl!.id)?.status).toBe('redriven');
    expect(after.find((d) => d.id !== dl!.id)).toMatchObject({
      status: 'open',
      stream: 'REPORTS',
      seq: dl!.seq,
    });
  });

  it("a read model is rebuilt through edc's own user: stopped at the bad event, then past it", async () => {
    const env = { COHORT_EDC_URL: edc.url };
    const stopped = await cohort(['rebuild', 'edc', 'case-reports', '--execute'], env);
    expect(stopped.code, stopped.stderr).toBe(1);
    const [dl] = await deadLetters();
    expect(stopped.stdout).toContain(`stopped at sequence ${dl!.seq}`);
    const past = await cohort(
      ['rebuild', 'edc', 'case-reports', '--execute', '--dead-letter', '--reason', 'e2e'],
      env,
    );
    expect(past.code, past.stderr).toBe(0);
    expect(past.stdout).toMatch(/swapped in \(.*dead letters 1;/);
    expect((await summary(edc, TRIAL)).reports).toBe(REPORTS);
  });

  it('no service was refused anything but the provisioning it may not do', () => {
    const refusals = services
      .flatMap((s) => s.output.join('').split('\n'))
      .flatMap((line) => line.match(/Permissions Violation for \w+ to \S+/g) ?? []);
    expect(refusals.length).toBeGreaterThan(0); // edc's, before admin provisioned
    for (const r of refusals) expect(r).toMatch(/Publish to \\?"?\$JS\.API\.STREAM\.CREATE\./);
  });

  it('without its env file the CLI is refused, and says so', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'cohort-nobody-'));
    try {
      const r = await cohort(['dlq', 'list'], { DATA_DIR: empty });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/NATS refused this .*Authorization/i);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
