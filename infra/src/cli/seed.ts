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
const ACTOR = { id: 'cohort-seed', role: 'sponsor' };
const PATH = ['planned', 'enrolling', 'active'];

async function call(
  url: string,
  init?: RequestInit,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, {
    ...init,
    headers: { 'content-type': 'application/json' },
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Creates the demo projects and brings them to `active`; safe to run again. */
export async function seed(baseUrl: string, log: (s: string) => void): Promise<number> {
  for (const p of DEMO) {
    let r = await call(`${baseUrl}/v1/projects`, {
      method: 'POST',
      body: JSON.stringify({ ...p, actor: ACTOR }),
    });
    if (r.status === 409) r = await call(`${baseUrl}/v1/projects/${p.projectId}`);
    if (r.status >= 300)
      throw new Error(`creating ${p.projectId}: ${r.status} ${JSON.stringify(r.body)}`);
    let { status, version } = r.body as { status: string; version: number };
    for (let i = PATH.indexOf(status) + 1; i > 0 && i < PATH.length; i++) {
      const c = await call(`${baseUrl}/v1/projects/${p.projectId}/status`, {
        method: 'POST',
        body: JSON.stringify({
          to: PATH[i],
          expectedVersion: version,
          actor: ACTOR,
          reason: 'demo seed',
        }),
      });
      if (c.status !== 200)
        throw new Error(`${p.projectId} -> ${PATH[i]}: ${c.status} ${JSON.stringify(c.body)}`);
      ({ status, version } = c.body as { status: string; version: number });
    }
    log(`${p.projectId.padEnd(12)} ${status.padEnd(10)} ${p.name}`);
  }
  log('\nsubmit a report to one of them, e.g.:');
  log(
    `curl -X POST http://127.0.0.1:3001/v1/reports -H 'content-type: application/json' -d '{"requestId":"${crypto.randomUUID()}","trialId":"DEMO-SLEEP","patientId":"P-001","questionnaire":{"id":"PSQI","version":"1.0"},"answers":[{"itemId":"q1","value":3}],"completedAt":"${new Date().toISOString()}"}'`,
  );
  return 0;
}
