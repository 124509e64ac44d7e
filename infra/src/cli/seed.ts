import { developmentMode, developmentToken } from './identity.js';

/** Demo trials for a newcomer: created and activated through project-management's API. */
const DEMO = [
  {
    projectId: 'DEMO-SLEEP',
    name: 'Sleep quality after knee surgery',
    requestId: '6c0e3d6a-3f4e-4f0b-9a51-5f1f6d1b0001',
  },
  {
    projectId: 'DEMO-PAIN',
    name: 'Chronic pain diary, phase II',
    requestId: '6c0e3d6a-3f4e-4f0b-9a51-5f1f6d1b0002',
  },
  {
    projectId: 'DEMO-MOOD',
    name: 'Mood and fatigue in oncology care',
    requestId: '6c0e3d6a-3f4e-4f0b-9a51-5f1f6d1b0003',
  },
];
const PATH = ['planned', 'enrolling', 'active'];
/** The demo's sponsor, who creates and activates the trials. */
const SPONSOR = 'cohort-seed';
/** A seed run takes seconds; its token need not outlive it. */
const SEED_TOKEN_TTL_SECONDS = 600;

/**
 * The sponsor's token: `COHORT_TOKEN` when set (required when token keys are configured),
 * else a development token for the demo trials.
 */
async function sponsorToken(): Promise<string> {
  const given = process.env.COHORT_TOKEN;
  if (given) return given;
  if (!developmentMode()) {
    throw new Error(
      'token keys are configured: set COHORT_TOKEN to a sponsor token of the demo trials',
    );
  }
  return developmentToken({
    sub: SPONSOR,
    role: 'sponsor',
    trials: DEMO.map((d) => d.projectId),
    ttlSeconds: SEED_TOKEN_TTL_SECONDS,
  });
}

/** Creates the demo projects and brings them to `active`; safe to run again. */
export async function seed(baseUrl: string, log: (s: string) => void): Promise<number> {
  const headers = {
    'content-type': 'application/json',
    authorization: `Bearer ${await sponsorToken()}`,
  };
  const call = async (url: string, init?: RequestInit) => {
    const res = await fetch(url, { ...init, headers });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  for (const p of DEMO) {
    let r = await call(`${baseUrl}/v1/projects`, { method: 'POST', body: JSON.stringify(p) });
    if (r.status === 409) r = await call(`${baseUrl}/v1/projects/${p.projectId}`);
    if (r.status >= 300)
      throw new Error(`creating ${p.projectId}: ${r.status} ${JSON.stringify(r.body)}`);
    let { status, version } = r.body as { status: string; version: number };
    for (let i = PATH.indexOf(status) + 1; i > 0 && i < PATH.length; i++) {
      const c = await call(`${baseUrl}/v1/projects/${p.projectId}/status`, {
        method: 'POST',
        body: JSON.stringify({ to: PATH[i], expectedVersion: version, reason: 'demo seed' }),
      });
      if (c.status !== 200)
        throw new Error(`${p.projectId} -> ${PATH[i]}: ${c.status} ${JSON.stringify(c.body)}`);
      ({ status, version } = c.body as { status: string; version: number });
    }
    log(`${p.projectId.padEnd(12)} ${status.padEnd(10)} ${p.name}`);
  }
  log('\nsubmit a report to one of them as patient P-001, e.g.:');
  log(
    `curl -X POST http://127.0.0.1:3001/v1/reports -H 'content-type: application/json' ` +
      `-H "authorization: Bearer $(npx cohort token --sub P-001 --role patient --trial DEMO-SLEEP)" ` +
      `-d '{"requestId":"${crypto.randomUUID()}","trialId":"DEMO-SLEEP","patientId":"P-001","questionnaire":{"id":"PSQI","version":"1.0"},"answers":[{"itemId":"q1","value":3}],"completedAt":"${new Date().toISOString()}"}'`,
  );
  return 0;
}
