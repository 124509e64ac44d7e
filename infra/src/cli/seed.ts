import { developmentMode, developmentToken } from './identity.js';

/**
 * Demo trials for a newcomer, created and activated through project-management's API, each
 * with a diary schedule, one safety rule and patients at two sites, so that monitoring shows
 * something from the first report on.
 */
const DEMO = [
  {
    projectId: 'DEMO-SLEEP',
    name: 'Sleep quality after knee surgery',
    requestId: '6c0e3d6a-3f4e-4f0b-9a51-5f1f6d1b0001',
    schedule: {
      questionnaireId: 'PSQI',
      frequency: { kind: 'every', days: 1 },
      windowHours: 24,
      nonCompliance: { kind: 'below-percent', percent: 80, windows: 7 },
    },
    rule: {
      ruleId: 'poor-sleep',
      questionnaireId: 'PSQI',
      itemId: 'q1',
      condition: { kind: 'at-least', value: 3 },
      severity: 'medium',
      acknowledgeWithinMinutes: 240,
    },
  },
  {
    projectId: 'DEMO-PAIN',
    name: 'Chronic pain diary, phase II',
    requestId: '6c0e3d6a-3f4e-4f0b-9a51-5f1f6d1b0002',
    schedule: {
      questionnaireId: 'BPI',
      frequency: { kind: 'every', days: 1 },
      windowHours: 12,
      nonCompliance: { kind: 'missed-in-a-row', count: 3 },
    },
    rule: {
      ruleId: 'pain-worse',
      questionnaireId: 'BPI',
      itemId: 'worst_pain',
      condition: { kind: 'worsening', increase: 3 },
      severity: 'medium',
      acknowledgeWithinMinutes: 120,
    },
  },
  {
    projectId: 'DEMO-MOOD',
    name: 'Mood and fatigue in oncology care',
    requestId: '6c0e3d6a-3f4e-4f0b-9a51-5f1f6d1b0003',
    schedule: {
      questionnaireId: 'PHQ-9',
      frequency: { kind: 'every', days: 7 },
      windowHours: 48,
      nonCompliance: { kind: 'below-percent', percent: 80, windows: 4 },
    },
    rule: {
      ruleId: 'phq9-item9',
      questionnaireId: 'PHQ-9',
      itemId: 'q9',
      condition: { kind: 'at-least', value: 2 },
      severity: 'high',
      acknowledgeWithinMinutes: 60,
    },
  },
];
/** Demo patients: P-001 to P-006, alternating between two sites. */
const PATIENTS = Array.from({ length: 6 }, (_, i) => ({
  patientId: `P-00${i + 1}`,
  siteId: i % 2 === 0 ? 'SITE-NORTH' : 'SITE-SOUTH',
}));
const PATH = ['planned', 'enrolling', 'active'];
/** A seed run takes seconds; its tokens need not outlive it. */
const SEED_TOKEN_TTL_SECONDS = 600;

/**
 * A token of the demo's sponsor (who creates, configures and activates the trials) or
 * coordinator (who enrols the patients): `COHORT_TOKEN` and `COHORT_COORDINATOR_TOKEN` when
 * set (required when token keys are configured), else development tokens for the demo trials.
 */
async function seedToken(role: 'sponsor' | 'coordinator'): Promise<string> {
  const variable = role === 'sponsor' ? 'COHORT_TOKEN' : 'COHORT_COORDINATOR_TOKEN';
  const given = process.env[variable];
  if (given) return given;
  if (!developmentMode()) {
    throw new Error(
      `token keys are configured: set ${variable} to a ${role} token of the demo trials`,
    );
  }
  return developmentToken({
    sub: `cohort-seed-${role}`,
    role,
    trials: DEMO.map((d) => d.projectId),
    ttlSeconds: SEED_TOKEN_TTL_SECONDS,
  });
}

/** Creates the demo projects, configures them, enrols patients, activates them; safe to run again. */
export async function seed(baseUrl: string, log: (s: string) => void): Promise<number> {
  const as = async (role: 'sponsor' | 'coordinator') => ({
    'content-type': 'application/json',
    authorization: `Bearer ${await seedToken(role)}`,
  });
  const sponsor = await as('sponsor');
  const coordinator = await as('coordinator');
  const call = async (url: string, init?: RequestInit, headers = sponsor) => {
    const res = await fetch(url, { ...init, headers });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const must = (what: string, r: { status: number; body: unknown }) => {
    if (r.status >= 300) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
  };
  for (const p of DEMO) {
    const { projectId, name, requestId } = p;
    let r = await call(`${baseUrl}/v1/projects`, {
      method: 'POST',
      body: JSON.stringify({ projectId, name, requestId }),
    });
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
    const base = `${baseUrl}/v1/projects/${p.projectId}`;
    const reason = 'demo protocol';
    must(
      `${p.projectId} schedule`,
      await call(`${base}/schedule`, {
        method: 'PUT',
        body: JSON.stringify({ ...p.schedule, reason }),
      }),
    );
    const { ruleId, ...rule } = p.rule;
    must(
      `${p.projectId} rule`,
      await call(`${base}/safety-rules/${ruleId}`, {
        method: 'PUT',
        body: JSON.stringify({ ...rule, reason }),
      }),
    );
    for (const [i, patient] of PATIENTS.entries()) {
      // The same requestId on every run: enrolling again changes nothing.
      const requestId = `${p.requestId.slice(0, -4)}${p.requestId.slice(-1)}1${String(i).padStart(2, '0')}`;
      const body = JSON.stringify({ requestId, ...patient });
      must(
        `${p.projectId} ${patient.patientId}`,
        await call(`${base}/patients`, { method: 'POST', body }, coordinator),
      );
    }
    log(
      `${p.projectId.padEnd(12)} ${status.padEnd(10)} ${p.name} (${PATIENTS.length} patients at 2 sites)`,
    );
  }
  log('\nthe monitoring dashboard: http://127.0.0.1:3004/ — sign in with the token of');
  log("  npx cohort token --sub dr.ng --role investigator --trial '*'");
  log(
    '\nsubmit a report to one of them as patient P-001 (a poor night: it raises an alert), e.g.:',
  );
  log(
    `curl -X POST http://127.0.0.1:3001/v1/reports -H 'content-type: application/json' ` +
      `-H "authorization: Bearer $(npx cohort token --sub P-001 --role patient --trial DEMO-SLEEP)" ` +
      `-d '{"requestId":"${crypto.randomUUID()}","trialId":"DEMO-SLEEP","patientId":"P-001","questionnaire":{"id":"PSQI","version":"1.0"},"answers":[{"itemId":"q1","value":3}],"completedAt":"${new Date().toISOString()}"}'`,
  );
  return 0;
}
