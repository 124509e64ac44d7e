import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { expectSecureHeaders } from '../support/edge.js';
import {
  contentTypes,
  headerValue,
  HOSTILE_KEYS,
  hostileQuery,
  hostileSegment,
  hostileValue,
  jsonText,
  large,
  malformedJson,
} from '../support/hostile.js';
import { as } from '../support/identity.js';
import { keepAliveAgent, rawRequest, type RawResponse } from '../support/raw-http.js';
import {
  refResolver,
  validValue,
  type JsonSchema,
  type SchemaContext,
} from '../support/schema-arbitrary.js';
import type { ServiceProcess } from '../support/service-process.js';
import { Stack } from '../support/stack.js';

/**
 * Every route of every HTTP service, read from its own /openapi.json (a new route is fuzzed
 * without a change here), called over real sockets by a caller whose token allows it, with
 * hostile bodies, path parameters, query strings and headers. Whatever arrives, the answer is
 * never a 5xx, every answer of the app has the secure headers and an error in the common
 * shape, and a request refused with a 4xx stores nothing.
 *
 * Against processes rather than `app.request()`: the Node HTTP server and its adapter are part
 * of the edge (raw paths with `..` and `%2e`, repeated headers, a Host header, a body over the
 * limit arriving on a socket), and only a socket reaches them.
 */

/** Runs per route and kind of input: enough to hit every branch of the edge in seconds. */
const RUNS = { body: 150, params: 60, query: 40, headers: 40 } as const;
/** A trial that exists and accepts reports, so valid requests reach past the 404s. */
const TRIAL = 'FUZZ-OPEN';
/** Body limit assumed for routes without a body (the common default). */
const DEFAULT_LIMIT_BYTES = 64 * 1024;
/** Largest X-Correlation-Id tried: within Node's 16 KiB of headers, and beyond it (431). */
const MAX_HEADER_CHARS = 20_000;

/** Callers by service: the role whose token every route of that service admits. */
const CALLERS: Record<string, Record<string, string>> = {
  'epro-api': as.gateway,
  'project-management': as.sponsor,
  edc: as.monitor,
};

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema: JsonSchema;
}

interface Operation {
  service: ServiceProcess;
  method: string;
  template: string;
  pathParams: Parameter[];
  queryParams: Parameter[];
  body?: JsonSchema;
  limitBytes: number;
  ctx: SchemaContext;
  caller: Record<string, string>;
}

const stack = await Stack.start('fuzz-e2e');
const agent = keepAliveAgent();
/** Answers by route and status: shows how deep the inputs went (how many got past the 400s). */
const statuses = new Map<string, Map<number, number>>();
const routeOf = (op: Operation) => `${op.service.name} ${op.method} ${op.template}`;
function tally(op: Operation, status: number): void {
  const byStatus = statuses.get(routeOf(op)) ?? new Map<number, number>();
  byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
  statuses.set(routeOf(op), byStatus);
}

afterAll(async () => {
  for (const [route, byStatus] of statuses) {
    const counts = [...byStatus].sort(([a], [b]) => a - b).map(([s, n]) => `${s}x${n}`);
    console.log(`fuzz ${route}: ${counts.join(' ')}`);
  }
  agent.destroy();
  await stack.stop();
});

let operations: Operation[];
try {
  await prepare();
  operations = await discover();
} catch (e) {
  await stack.stop(); // the file fails before afterAll could run
  throw e;
}

/** A trial project made active, and a report in it, so that reads find something. */
async function prepare(): Promise<void> {
  const post = (svc: ServiceProcess, path: string, body: unknown, caller: Record<string, string>) =>
    rawRequest(svc.url, {
      method: 'POST',
      path,
      headers: { ...caller, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  await post(
    stack.pm,
    '/v1/projects',
    { requestId: crypto.randomUUID(), projectId: TRIAL, name: 'fuzz' },
    as.sponsor,
  );
  for (const [to, v] of [
    ['enrolling', 1],
    ['active', 2],
  ] as const) {
    await post(
      stack.pm,
      `/v1/projects/${TRIAL}/status`,
      { to, expectedVersion: v, reason: 'fuzz' },
      as.sponsor,
    );
  }
  const deadline = Date.now() + 15_000;
  for (;;) {
    const r = await post(
      stack.api,
      '/v1/reports',
      {
        requestId: crypto.randomUUID(),
        trialId: TRIAL,
        patientId: 'P-1',
        questionnaire: { id: 'Q', version: '1' },
        answers: [{ itemId: 'a', value: 1 }],
        completedAt: new Date(Date.now() - 60_000).toISOString(),
      },
      as.gateway,
    );
    if (r.status === 202) return;
    if (Date.now() > deadline)
      throw new Error(`epro-api never accepted ${TRIAL}: ${r.status} ${r.body}`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

/** Every operation of every service's OpenAPI document. */
async function discover(): Promise<Operation[]> {
  const out: Operation[] = [];
  for (const service of stack.services) {
    const doc = (await (await fetch(`${service.url}/openapi.json`)).json()) as {
      paths: Record<
        string,
        Record<
          string,
          {
            parameters?: Parameter[];
            requestBody?: { content: Record<string, { schema: JsonSchema }> };
          }
        >
      >;
    };
    const ctx: SchemaContext = { resolve: refResolver(doc), ids: [TRIAL, 'P-1', 'swagger-ui.css'] };
    const caller = CALLERS[service.name] ?? as.sponsor;
    for (const [template, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const params = op.parameters ?? [];
        const body = op.requestBody?.content['application/json']?.schema;
        const partial: Omit<Operation, 'limitBytes'> = {
          service,
          method: method.toUpperCase(),
          template,
          pathParams: params.filter((p) => p.in === 'path'),
          queryParams: params.filter((p) => p.in === 'query'),
          body,
          ctx,
          caller,
        };
        out.push({ ...partial, limitBytes: body ? await bodyLimit(partial) : DEFAULT_LIMIT_BYTES });
      }
    }
  }
  return out;
}

/**
 * The route's body limit, as its 413 states it: a request claiming a body far over any limit,
 * refused before its body is read (on a connection of its own, which the refusal ends).
 */
async function bodyLimit(op: Omit<Operation, 'limitBytes'>): Promise<number> {
  const res = await rawRequest(op.service.url, {
    method: op.method,
    path: op.template.replace(/\{[^}]+\}/g, 'x'),
    headers: {
      ...op.caller,
      'content-type': 'application/json',
      'content-length': String(64 * 1024 * 1024),
      connection: 'close',
    },
    body: '{}',
  });
  const limit = (JSON.parse(res.body) as { limitBytes?: unknown }).limitBytes;
  if (res.status !== 413 || typeof limit !== 'number') {
    throw new Error(
      `${op.method} ${op.template} did not state its body limit: ${res.status} ${res.body}`,
    );
  }
  return limit;
}

interface Attempt {
  method?: string;
  path: string;
  query?: string;
  headers?: Record<string, string | string[] | undefined>;
  body?: string;
}

/**
 * Sends one attempt as the route's caller and checks the edge's promises: no 5xx; the app's
 * answers carry the secure headers and errors in the common shape; a 4xx stored nothing.
 */
async function check(op: Operation, a: Attempt): Promise<RawResponse> {
  const before = await stack.counts();
  const headers: Record<string, string | string[]> = { ...op.caller };
  if (a.body !== undefined) headers['content-type'] = 'application/json';
  for (const [k, v] of Object.entries(a.headers ?? {})) {
    if (v === undefined) delete headers[k];
    else headers[k] = v;
  }
  const path = a.query ? `${a.path}?${a.query}` : a.path;
  const method = a.method ?? op.method;
  const res = await rawRequest(op.service.url, { method, path, headers, body: a.body }, agent);
  tally(op, res.status);
  const where = `${op.service.name} ${method} ${path.slice(0, 300)} ${JSON.stringify(a.headers ?? {}).slice(0, 300)} body ${(a.body ?? '').slice(0, 300)} -> ${res.status} ${res.body.slice(0, 500)}`;
  expect(res.status, where).toBeGreaterThanOrEqual(200);
  expect(res.status, where).toBeLessThan(500);
  // Node itself refuses what never reaches the app (431, a malformed request line): no body.
  const fromApp = res.headers['content-type'] !== undefined;
  if (fromApp) expectSecureHeaders(res, where);
  if (res.status >= 400) {
    if (fromApp && method !== 'HEAD') {
      expect(JSON.parse(res.body), where).toMatchObject({ error: expect.any(String) as unknown });
    }
    expect(await stack.counts(), where).toEqual(before);
  }
  return res;
}

/** A parameter's value as a URL carries it. */
const asText = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

/** A path with every parameter valid (or a known id). */
function validPath(op: Operation): fc.Arbitrary<string> {
  return fc
    .tuple(...op.pathParams.map((p) => validValue(p.schema, op.ctx)))
    .map((values) =>
      op.pathParams.reduce(
        (path, p, i) => path.replace(`{${p.name}}`, encodeURIComponent(asText(values[i]))),
        op.template,
      ),
    );
}

/** A query of valid values for some of the route's parameters. */
function validQuery(op: Operation): fc.Arbitrary<string> {
  if (op.queryParams.length === 0) return fc.constant('');
  return fc
    .tuple(
      ...op.queryParams.map((p) => fc.option(validValue(p.schema, op.ctx), { nil: undefined })),
    )
    .map((values) => {
      const q = new URLSearchParams();
      op.queryParams.forEach((p, i) => {
        if (values[i] !== undefined) q.set(p.name, asText(values[i]));
      });
      return q.toString();
    });
}

/** A valid body's JSON text, or undefined for a route without one. */
function validBody(op: Operation): fc.Arbitrary<string | undefined> {
  return op.body ? validValue(op.body, op.ctx).map(jsonText) : fc.constant(undefined);
}

type Key = string | number;

/** Every place in a JSON value: the root, each member and item, depth first. */
function places(v: unknown, at: Key[] = []): Key[][] {
  const out: Key[][] = [at];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...places(x, [...at, i])));
  else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) out.push(...places(x, [...at, k]));
  }
  return out;
}

function setOwn(o: Record<Key, unknown>, k: Key, v: unknown): void {
  // defineProperty: `__proto__` becomes an own member that is sent, not the prototype.
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/**
 * A valid body with one hostile change at one place: the value replaced (wrong type, odd
 * string or number, pollution payload, large), the member removed, or a hostile key added.
 */
function mutatedBody(op: Operation): fc.Arbitrary<string> {
  return fc
    .tuple(
      validValue(op.body!, op.ctx),
      fc.nat(),
      fc.constantFrom('replace', 'remove', 'add'),
      hostileValue(op.limitBytes),
      fc.constantFrom(...HOSTILE_KEYS),
    )
    .map(([valid, index, change, value, key]) => {
      const root: unknown = structuredClone(valid);
      const all = places(root);
      const at = all[index % all.length]!;
      if (at.length === 0)
        return jsonText(change === 'add' ? { ...(root as object), [key]: value } : value);
      const parent = at
        .slice(0, -1)
        .reduce<unknown>((o, k) => (o as Record<Key, unknown>)[k], root) as Record<Key, unknown>;
      const last = at.at(-1)!;
      if (change === 'replace') setOwn(parent, last, value);
      else if (change === 'remove') {
        if (Array.isArray(parent)) parent.splice(Number(last), 1);
        else delete parent[last];
      } else {
        const target = parent[last];
        if (target !== null && typeof target === 'object' && !Array.isArray(target)) {
          setOwn(target as Record<Key, unknown>, key, value);
        } else setOwn(parent, Array.isArray(parent) ? parent.length : key, value);
      }
      return jsonText(root);
    });
}

function hostileBody(op: Operation): fc.Arbitrary<string> {
  return fc.oneof(
    { arbitrary: mutatedBody(op), weight: 6 },
    { arbitrary: validValue(op.body!, op.ctx).map(jsonText), weight: 1 },
    { arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)), weight: 1 },
    { arbitrary: malformedJson, weight: 1 },
    { arbitrary: large(op.limitBytes).map(jsonText), weight: 1 },
  );
}

/** A path with at least one parameter hostile; the others valid. */
function hostilePath(op: Operation): fc.Arbitrary<string> {
  return fc
    .tuple(
      ...op.pathParams.map((p) =>
        fc.oneof(hostileSegment, validValue(p.schema, op.ctx).map(asText)),
      ),
      fc.nat(),
      hostileSegment,
    )
    .map((parts) => {
      const segments = parts.slice(0, op.pathParams.length) as string[];
      const forced = (parts.at(-2) as number) % op.pathParams.length;
      segments[forced] = parts.at(-1) as string;
      return op.pathParams.reduce(
        (path, p, i) => path.replace(`{${p.name}}`, segments[i]!),
        op.template,
      );
    });
}

const hostileHeaders = () =>
  fc.record(
    {
      'content-type': contentTypes,
      'x-correlation-id': fc.oneof(
        headerValue(MAX_HEADER_CHARS),
        fc.array(headerValue(200), { minLength: 2, maxLength: 3 }),
      ),
      accept: fc.constantFrom('*/*', 'text/html', 'application/xml', '', 'application/json;q=0'),
      host: fc.constantFrom(
        'evil.example',
        '[::1]',
        'a:b:c',
        'x'.repeat(300),
        '%',
        '127.0.0.1:99999',
        '-',
        '',
      ),
      'content-encoding': fc.constantFrom('gzip', 'br', 'identity', 'x'),
      'x-forwarded-for': headerValue(200),
      'x-forwarded-host': headerValue(200),
      'x-http-method-override': fc.constantFrom('DELETE', 'PUT', 'GET', 'PATCH'),
      cookie: headerValue(500),
      origin: fc.constantFrom('null', 'https://evil.example', ''),
    },
    { requiredKeys: [] },
  );

describe.each(operations.map((op) => [routeOf(op), op] as const))('%s', (_name, op) => {
  // Only the kinds of input the route takes: no test that would be skipped.
  if (op.body) {
    it('hostile bodies: 4xx (or accepted), never 5xx; a 4xx stores nothing', async () => {
      await fc.assert(
        fc.asyncProperty(
          validPath(op),
          validQuery(op),
          hostileBody(op),
          async (path, query, body) => {
            await check(op, { path, query, body });
          },
        ),
        { numRuns: RUNS.body },
      );
    });
  }
  if (op.pathParams.length > 0) {
    it('hostile path parameters and methods', async () => {
      const methods = fc.constantFrom(
        op.method,
        op.method,
        op.method,
        'PUT',
        'PATCH',
        'DELETE',
        'OPTIONS',
        'HEAD',
        'TRACE',
      );
      await fc.assert(
        fc.asyncProperty(hostilePath(op), validBody(op), methods, async (path, body, method) => {
          await check(op, { path, body, method });
        }),
        { numRuns: RUNS.params },
      );
    });
  }
  it('hostile query strings', async () => {
    const keys = op.queryParams.map((p) => p.name);
    await fc.assert(
      fc.asyncProperty(
        validPath(op),
        hostileQuery(keys),
        validBody(op),
        async (path, query, body) => {
          await check(op, { path, query, body });
        },
      ),
      { numRuns: RUNS.query },
    );
  });

  it('hostile headers', async () => {
    await fc.assert(
      fc.asyncProperty(
        validPath(op),
        validQuery(op),
        validBody(op),
        hostileHeaders(),
        async (path, query, body, headers) => {
          await check(op, { path, query, body, headers });
        },
      ),
      { numRuns: RUNS.headers },
    );
  });
});
