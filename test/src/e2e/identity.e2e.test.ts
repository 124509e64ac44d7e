import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { expectBearerChallenge, expectSecureHeaders } from '../support/edge.js';
import {
  es256,
  hs256,
  nowSeconds,
  payload,
  publicKeyForms,
  strangerKey,
  unsigned,
} from '../support/forge.js';
import { as, identity } from '../support/identity.js';
import { keepAliveAgent, rawRequest } from '../support/raw-http.js';
import { reportBody } from '../support/reports.js';
import type { ServiceProcess } from '../support/service-process.js';
import { Stack } from '../support/stack.js';

/** Trials of this file: one patients may report to, one that exists elsewhere, one that never will. */
const TRIAL = 'ID-OPEN';
const OTHER = 'ID-OTHER';
const NOWHERE = 'ID-NOWHERE';

let stack: Stack;
const agent = keepAliveAgent();

async function send(
  svc: ServiceProcess,
  method: string,
  path: string,
  headers: Record<string, string | string[]>,
  body?: unknown,
) {
  const res = await rawRequest(
    svc.url,
    {
      method,
      path,
      headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    },
    agent,
  );
  expectSecureHeaders(res, `${svc.name} ${method} ${path} answered ${res.status}`);
  return res;
}

const json = (res: { body: string }) => JSON.parse(res.body) as Record<string, unknown>;

async function createActiveProject(projectId: string) {
  const created = await send(stack.pm, 'POST', '/v1/projects', as.sponsor, {
    requestId: crypto.randomUUID(),
    projectId,
    name: `identity ${projectId}`,
  });
  expect(created.status, created.body).toBe(201);
  for (const [to, v] of [
    ['enrolling', 1],
    ['active', 2],
  ] as const) {
    const r = await send(stack.pm, 'POST', `/v1/projects/${projectId}/status`, as.sponsor, {
      to,
      expectedVersion: v,
      reason: 'identity e2e',
    });
    expect(r.status, r.body).toBe(200);
  }
}

beforeAll(async () => {
  stack = await Stack.start('identity-e2e');
  await createActiveProject(TRIAL);
  await createActiveProject(OTHER);
  // OTHER has a report, so edc knows it: a refusal must not tell that apart from NOWHERE.
  // (epro-api learns of the new trial from PROJECTS a moment after project-management answers.)
  await vi.waitFor(
    async () => {
      const r = await send(stack.api, 'POST', '/v1/reports', as.gateway, reportBody(OTHER, 'P-9'));
      expect(r.status).toBe(202);
    },
    { timeout: 15_000, interval: 100 },
  );
  await vi.waitFor(
    async () => {
      const r = await send(stack.edc, 'GET', `/v1/trials/${OTHER}/summary`, as.monitor);
      expect(r.status).toBe(200);
    },
    { timeout: 15_000, interval: 100 },
  );
});

afterAll(async () => {
  agent.destroy();
  await stack?.stop();
});

interface Target {
  name: string;
  svc: () => ServiceProcess;
  method: string;
  path: string;
  /** A fresh body a permitted caller could send; none for a GET. */
  body?: () => unknown;
  /** The claims of a caller the route admits, with a role and trials it allows. */
  allowed: Record<string, unknown>;
}

const TARGETS: Target[] = [
  {
    name: 'epro-api POST /v1/reports',
    svc: () => stack.api,
    method: 'POST',
    path: '/v1/reports',
    body: () => reportBody(TRIAL, 'P-1'),
    allowed: { role: 'system', trials: ['*'] },
  },
  {
    name: 'project-management POST /v1/projects',
    svc: () => stack.pm,
    method: 'POST',
    path: '/v1/projects',
    body: () => ({
      requestId: crypto.randomUUID(),
      projectId: `ID-NEW-${crypto.randomUUID().slice(0, 8)}`,
      name: 'never created',
    }),
    allowed: { role: 'sponsor', trials: ['*'] },
  },
  {
    name: 'project-management GET /v1/projects/{id}/history',
    svc: () => stack.pm,
    method: 'GET',
    path: `/v1/projects/${TRIAL}/history`,
    allowed: { role: 'monitor', trials: [TRIAL] },
  },
  {
    name: 'edc GET /v1/trials/{t}/summary',
    svc: () => stack.edc,
    method: 'GET',
    path: `/v1/trials/${OTHER}/summary`,
    allowed: { role: 'monitor', trials: [OTHER] },
  },
];

/** Authorization headers that must not pass, each built for the route's admitted caller. */
async function refusedCredentials(
  allowed: Record<string, unknown>,
): Promise<[string, Record<string, string | string[]>][]> {
  const claims = payload(allowed);
  const now = nowSeconds();
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
  const valid = await es256(claims);
  const noExp = { ...claims, exp: undefined }; // JSON.stringify leaves it out
  const out: [string, Record<string, string | string[]>][] = [
    ['no token', {}],
    ['alg none', bearer(unsigned(claims))],
    ['alg none, signature kept', bearer(`${unsigned(claims)}${valid.split('.')[2]}`)],
    ['expired', bearer(await es256({ ...claims, exp: now - 3600, nbf: now - 7200 }))],
    ['nbf 10 minutes ahead', bearer(await es256({ ...claims, nbf: now + 600 }))],
    ['wrong iss', bearer(await es256({ ...claims, iss: 'https://evil.example' }))],
    ['wrong aud', bearer(await es256({ ...claims, aud: 'another-api' }))],
    [
      'unknown kid, unknown key',
      bearer(await es256(claims, { privateKey: await strangerKey(), kid: 'stranger-1' })),
    ],
    ['trusted kid, unknown key', bearer(await es256(claims, { privateKey: await strangerKey() }))],
    ['no exp', bearer(await es256(noExp))],
    ['role not in the list', bearer(await es256({ ...claims, role: 'admin' }))],
    ['no trials claim', bearer(await es256({ ...claims, trials: undefined }))],
    ['Bearer with nothing', { authorization: 'Bearer' }],
    ['Bearer and a space', { authorization: 'Bearer ' }],
    ['Basic credentials', { authorization: 'Basic ZHIubGVlOnNlY3JldA==' }],
    ['the token without a scheme', { authorization: valid }],
    ['two tokens in one header', { authorization: `Bearer ${valid} ${valid}` }],
    ['two tokens, comma-separated', { authorization: `Bearer ${valid}, Bearer ${valid}` }],
    ['two Authorization headers', { authorization: [`Bearer ${valid}`, `Bearer ${valid}`] }],
    ['a tampered payload', bearer(tamper(valid))],
  ];
  for (const [form, secret] of Object.entries(publicKeyForms())) {
    out.push([`HS256 keyed with the public key, ${form}`, bearer(hs256(claims, secret))]);
  }
  return out;
}

/** The token with its payload swapped for one granting every trial, signature kept. */
function tamper(token: string): string {
  const [h, p, s] = token.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
  const forged = Buffer.from(JSON.stringify({ ...claims, sub: 'root', trials: ['*'] }));
  return `${h}.${forged.toString('base64url')}.${s}`;
}

describe.each(TARGETS)('$name', (target) => {
  it('answers 401 with a Bearer challenge to every token it must refuse, and stores nothing', async () => {
    const svc = target.svc();
    const before = await stack.counts();
    for (const [what, headers] of await refusedCredentials(target.allowed)) {
      const res = await send(svc, target.method, target.path, headers, target.body?.());
      expect(res.status, `${what}: ${res.body}`).toBe(401);
      expectBearerChallenge(res, what);
      expect(json(res), what).toMatchObject({ error: 'unauthenticated' });
    }
    expect(await stack.counts()).toEqual(before);
  });

  it('admits the same caller with a well-formed token (the refusals are about the token)', async () => {
    const svc = target.svc();
    const token = await es256(payload(target.allowed));
    const res = await send(
      svc,
      target.method,
      target.path,
      {
        authorization: `Bearer ${token}`,
      },
      target.body?.(),
    );
    expect(res.status, res.body).toBeLessThan(300);
  });

  it('admits a token within the 60 s clock tolerance (nbf 30 s ahead, exp 30 s ago)', async () => {
    const now = nowSeconds();
    const token = await es256(payload({ ...target.allowed, nbf: now + 30, exp: now - 30 }));
    const res = await send(
      target.svc(),
      target.method,
      target.path,
      { authorization: `Bearer ${token}` },
      target.body?.(),
    );
    expect(res.status, res.body).toBeLessThan(300);
  });
});

describe('authorization', () => {
  const patient = (sub: string, trials: string[]) =>
    identity.header({ sub, role: 'patient', trials });

  it('a patient reports for themselves only, and only in their trials: 403 otherwise, nothing stored', async () => {
    const p1 = await patient('P-1', [TRIAL]);
    const before = await stack.counts();
    const forOther = await send(stack.api, 'POST', '/v1/reports', p1, reportBody(TRIAL, 'P-2'));
    expect(forOther.status, forOther.body).toBe(403);
    const existing = await send(stack.api, 'POST', '/v1/reports', p1, reportBody(OTHER, 'P-1'));
    const missing = await send(stack.api, 'POST', '/v1/reports', p1, reportBody(NOWHERE, 'P-1'));
    expect([existing.status, missing.status]).toEqual([403, 403]);
    expect(existing.body).toBe(missing.body);
    expect(await stack.counts()).toEqual(before);
    const own = await send(stack.api, 'POST', '/v1/reports', p1, reportBody(TRIAL, 'P-1'));
    expect(own.status, own.body).toBe(202);
    expect(await stack.counts()).toEqual({ ...before, REPORTS: before.REPORTS + 1 });
  });

  it('a trial outside the token is refused alike whether it exists or not, in every service', async () => {
    const only = await identity.header({ sub: 'cra.one', role: 'monitor', trials: [TRIAL] });
    const sponsor = await identity.header({ sub: 'dr.one', role: 'sponsor', trials: [TRIAL] });
    const pairs: [ServiceProcess, Record<string, string>, (t: string) => string][] = [
      [stack.edc, only, (t) => `/v1/trials/${t}/summary`],
      [stack.edc, only, (t) => `/v1/trials/${t}/reports`],
      [stack.pm, only, (t) => `/v1/projects/${t}`],
      [stack.pm, only, (t) => `/v1/projects/${t}/history`],
    ];
    for (const [svc, headers, path] of pairs) {
      const existing = await send(svc, 'GET', path(OTHER), headers);
      const missing = await send(svc, 'GET', path(NOWHERE), headers);
      expect([existing.status, missing.status], path('T')).toEqual([403, 403]);
      expect(existing.body, path('T')).toBe(missing.body);
    }
    const before = await stack.counts();
    const change = (t: string) =>
      send(stack.pm, 'POST', `/v1/projects/${t}/status`, sponsor, {
        to: 'suspended',
        expectedVersion: 3,
        reason: 'not mine to change',
      });
    const [existing, missing] = [await change(OTHER), await change(NOWHERE)];
    expect([existing.status, missing.status]).toEqual([403, 403]);
    expect(existing.body).toBe(missing.body);
    const create = await send(stack.pm, 'POST', '/v1/projects', sponsor, {
      requestId: crypto.randomUUID(),
      projectId: 'ID-NOT-MINE',
      name: 'outside the token',
    });
    expect(create.status, create.body).toBe(403);
    expect(await stack.counts()).toEqual(before);
  });

  it("a sponsor's status change is recorded as the token's caller, with its role", async () => {
    const headers = await identity.header({
      sub: 'dr.identity',
      role: 'sponsor',
      trials: [TRIAL],
    });
    const changed = await send(stack.pm, 'POST', `/v1/projects/${TRIAL}/status`, headers, {
      to: 'suspended',
      expectedVersion: 3,
      reason: 'safety review',
    });
    expect(changed.status, changed.body).toBe(200);
    const history = await send(stack.pm, 'GET', `/v1/projects/${TRIAL}/history`, as.monitor);
    const items = (json(history) as { items: { to: string; actor: unknown; reason: string }[] })
      .items;
    expect(items.at(-1)).toMatchObject({
      to: 'suspended',
      reason: 'safety review',
      actor: { id: 'dr.identity', role: 'sponsor' },
    });
  });

  it('a body naming its own actor is refused with 400, and nothing is stored', async () => {
    const actor = { id: 'someone-else', role: 'sponsor' };
    const before = await stack.counts();
    const attempts: [ServiceProcess, string, Record<string, string>, unknown][] = [
      [stack.api, '/v1/reports', as.gateway, { ...reportBody(TRIAL, 'P-1'), actor }],
      [
        stack.pm,
        '/v1/projects',
        as.sponsor,
        { requestId: crypto.randomUUID(), projectId: 'ID-ACTOR', name: 'x', actor },
      ],
      [
        stack.pm,
        `/v1/projects/${OTHER}/status`,
        as.sponsor,
        { to: 'suspended', expectedVersion: 3, reason: 'r', actor },
      ],
    ];
    for (const [svc, path, headers, body] of attempts) {
      const res = await send(svc, 'POST', path, headers, body);
      expect(res.status, `${path}: ${res.body}`).toBe(400);
      expect(json(res)).toMatchObject({ issues: expect.arrayContaining([]) as unknown });
      expect(res.body).toMatch(/actor/);
    }
    expect(await stack.counts()).toEqual(before);
  });
});

describe('public paths', () => {
  const PUBLIC = [
    '/healthz',
    '/readyz',
    '/metrics',
    '/openapi.json',
    '/docs',
    '/docs/swagger-ui.css',
  ];

  it.each(['epro-api', 'project-management', 'edc'])(
    '%s answers health, readiness, metrics and docs without a token, or with a bad one',
    async (name) => {
      const svc = stack.services.find((s) => s.name === name)!;
      for (const path of PUBLIC) {
        for (const headers of [{}, { authorization: 'Bearer not-a-token' }] as Record<
          string,
          string
        >[]) {
          const res = await send(svc, 'GET', path, headers);
          expect(res.status, `${path} ${JSON.stringify(headers)}`).toBe(200);
        }
      }
      // HEAD answers as GET does, headers included: the challenge, and the secure headers.
      expect((await send(svc, 'HEAD', '/healthz', {})).status).toBe(200);
      const head = await send(svc, 'HEAD', '/v1/anything', {});
      expect(head.status).toBe(401);
      expectBearerChallenge(head, 'HEAD without a token');
      // Everything else is behind the token, including a path that only looks public.
      for (const path of ['/healthz/../v1/projects', '/docsx', '/v1/nothing', '/']) {
        const res = await send(svc, 'GET', path, {});
        expect(res.status, path).toBe(401);
        expectBearerChallenge(res, path);
      }
    },
  );
});
