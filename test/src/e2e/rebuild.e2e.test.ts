import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { reportSubject } from '@cohort/contracts';
import { Publisher } from '@cohort/infra';
import { connect, provision, topology, NatsServer, reportSubmitted } from '@cohort/infra/testing';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, describe, expect, it } from 'vitest';
import { allReports, dropSchemas, edcEnv } from '../support/edc.js';
import { identity } from '../support/identity.js';
import { REPO_ROOT, ServiceProcess } from '../support/service-process.js';

/** How long work may take to be applied on a busy machine: a bound, not an expectation. */
const DRAIN_WAIT = { timeout: 30_000, interval: 100 };

const BIN = join(REPO_ROOT, 'infra', 'bin', 'cohort.mjs');
const TRIAL = 'REBUILD-E2E';
const enc = new TextEncoder();
const cleanups: (() => Promise<unknown>)[] = [];

afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  await dropSchemas();
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real `cohort` binary against the edc process. */
async function cohort(args: string[], env: Record<string, string>): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...identity.env, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

describe('cohort rebuild against a running edc', () => {
  it('prints the plan changing nothing, then rebuilds and swaps in while edc serves', async () => {
    const nats = await NatsServer.start();
    const conn = await connect({ servers: nats.url, name: 'rebuild-e2e' });
    cleanups.push(
      () => nats.dispose(),
      () => conn.drain(),
    );
    await provision(conn, await jetstreamManager(conn.nc), topology());
    const publisher = new Publisher(conn);
    const reports = Array.from({ length: 30 }, (_, i) =>
      reportSubmitted({ trialId: TRIAL, patientId: `P${i % 5}` }),
    );
    for (const e of reports) {
      await publisher.publish(
        reportSubject(TRIAL, e.data.patientId),
        enc.encode(JSON.stringify(e)),
        {
          msgId: e.id,
        },
      );
    }
    const edc = await ServiceProcess.start('edc', await edcEnv(nats.url));
    cleanups.push(() => edc.stop('SIGKILL'));
    await expect.poll(async () => (await allReports(edc, TRIAL)).length, DRAIN_WAIT).toBe(30);
    const before = await allReports(edc, TRIAL);

    // The service serves the routes it mounts for its projections, documented.
    const doc = (await (await fetch(`${edc.url}/openapi.json`)).json()) as {
      paths: Record<string, unknown>;
    };
    expect(Object.keys(doc.paths)).toContain('/v1/rebuilds/{projection}');

    const env = {
      COHORT_EDC_URL: edc.url,
      COHORT_TOKEN: await identity.sign({ sub: 'ops.kim', role: 'ops', trials: [] }),
    };
    const plan = await cohort(['rebuild', 'edc', 'case-reports'], env);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toMatch(/projection\s+case-reports \(durable edc-case-reports\)/);
    expect(plan.stdout).toMatch(/REPORTS.*30 messages/);
    expect(plan.stdout).toMatch(/shadow tables\s+.*case_reports/);
    expect(plan.stdout).toContain('nothing changed');
    const status = await fetch(`${edc.url}/v1/rebuilds/case-reports`, {
      headers: { authorization: `Bearer ${env.COHORT_TOKEN}` },
    });
    expect(((await status.json()) as { rebuild: unknown }).rebuild).toBeNull();

    // A token without the ops role may not start one.
    const monitor = await cohort(['rebuild', 'edc', 'case-reports', '--execute'], {
      ...env,
      COHORT_TOKEN: await identity.sign({ sub: 'cra.kim', role: 'monitor', trials: ['*'] }),
    });
    expect(monitor.code).toBe(5);
    expect((await cohort(['rebuild', 'edc', 'no-such-thing'], env)).code).toBe(3);

    const run = await cohort(
      ['rebuild', 'edc', 'case-reports', '--execute', '--reason', 'e2e'],
      env,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/swapped in \(applied 30, skipped 0, dead letters 0/);
    expect(await allReports(edc, TRIAL)).toEqual(before);

    // Live delivery goes on in the rebuilt read model.
    const next = reportSubmitted({ trialId: TRIAL, patientId: 'P9' });
    await publisher.publish(reportSubject(TRIAL, 'P9'), enc.encode(JSON.stringify(next)), {
      msgId: next.id,
    });
    await expect.poll(async () => (await allReports(edc, TRIAL)).length, DRAIN_WAIT).toBe(31);
  });
});
