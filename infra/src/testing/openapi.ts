import { compileErrors, validate } from '@readme/openapi-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

/** What the checks need of an app: its routes, its document, and a way to call it. */
export interface DocumentedApp {
  routes: { method: string; path: string }[];
  request(input: string, init?: RequestInit): Response | Promise<Response>;
}

type Doc = {
  paths: Record<string, Record<string, { responses?: Record<string, unknown> }>>;
};

/** The app's own OpenAPI document, as it serves it. */
export async function openApiDocument(app: DocumentedApp): Promise<Doc> {
  return (await (await app.request('/openapi.json')).json()) as Doc;
}

/** Problems a real OpenAPI 3.1 parser finds in the document; none when it is valid. */
export async function openApiProblems(doc: unknown): Promise<string | null> {
  const result = await validate(structuredClone(doc) as never);
  return result.valid ? null : compileErrors(result);
}

/** `/v1/trials/:trialId/summary` -> `/v1/trials/{trialId}/summary`. */
function templateOf(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/** Every route the app answers (middleware aside) that its document does not describe. */
export function undocumentedRoutes(app: DocumentedApp, doc: Doc): string[] {
  const missing = new Set<string>();
  for (const r of app.routes) {
    if (r.method === 'ALL' || r.path.endsWith('*')) continue;
    if (!doc.paths[templateOf(r.path)]?.[r.method.toLowerCase()]) {
      missing.add(`${r.method} ${r.path}`);
    }
  }
  return [...missing];
}

function matches(template: string, path: string): boolean {
  const t = template.split('/');
  const p = path.split('/');
  return t.length === p.length && t.every((seg, i) => /^\{.+\}$/.test(seg) || seg === p[i]);
}

const pointer = (...parts: string[]) =>
  parts.map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');

/**
 * Makes every answer of `app.request()` checked against the app's own OpenAPI document: its
 * status must be documented for the route, and a JSON body must match the documented schema.
 * A mismatch throws, so any test that calls the app also tests the document. Returns the app.
 */
export function conformingToOpenApi<A extends DocumentedApp>(app: A): A {
  const request = app.request.bind(app);
  let compiled: Promise<{ doc: Doc; ajv: Ajv2020 }> | undefined;
  const load = () =>
    (compiled ??= openApiDocument({ routes: app.routes, request }).then((doc) => {
      const ajv = new Ajv2020({ strict: false, allErrors: true });
      addFormats.default(ajv);
      ajv.addSchema(doc, 'doc');
      return { doc, ajv };
    }));
  app.request = async (input: string, init?: RequestInit) => {
    const res = await request(input, init);
    const method = (init?.method ?? 'GET').toLowerCase();
    const path = new URL(input, 'http://app').pathname;
    const { doc, ajv } = await load();
    const template = Object.keys(doc.paths).find((t) => matches(t, path) && doc.paths[t]?.[method]);
    const where = `${method.toUpperCase()} ${path} answered ${res.status}`;
    if (!template) {
      if (res.status === 404 || res.status === 405) return res; // no such route: not documented
      throw new Error(`${where}, but the document has no such route`);
    }
    const responses = doc.paths[template]![method]!.responses ?? {};
    const status = String(res.status);
    if (!(status in responses)) throw new Error(`${where}, which the document does not list`);
    const type = res.headers.get('content-type') ?? '';
    if (type.startsWith('application/json')) {
      const body: unknown = await res.clone().json();
      const ref = `doc#/${pointer('paths', template, method, 'responses', status, 'content', 'application/json', 'schema')}`;
      const check = ajv.getSchema(ref);
      if (!check) throw new Error(`${where}: the document has no JSON schema for it`);
      if (!check(body)) {
        throw new Error(
          `${where} with a body the document does not describe: ${ajv.errorsText(check.errors)}\n${JSON.stringify(body).slice(0, 500)}`,
        );
      }
    }
    return res;
  };
  return app;
}

/**
 * For every documented operation that takes a body, what the app answered to a `text/plain`
 * body and to a JSON body one byte over `limitBytes` sent without a Content-Length (streamed):
 * a guarded app answers 415 and 413. Returns `METHOD path -> [status for text, for too large]`.
 */
export async function bodyGuards(
  app: DocumentedApp,
  limitBytes: number,
  headers: Record<string, string> = {},
): Promise<Record<string, [number, number]>> {
  const doc = (await openApiDocument(app)) as unknown as {
    paths: Record<string, Record<string, { requestBody?: unknown }>>;
  };
  const out: Record<string, [number, number]> = {};
  for (const [template, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      if (!op.requestBody) continue;
      const path = template.replace(/\{[^}]+\}/g, 'x');
      const text = await app.request(path, {
        method: method.toUpperCase(),
        headers: { ...headers, 'content-type': 'text/plain' },
        body: '{}',
      });
      const big = `{"x":"${'a'.repeat(limitBytes)}"}`;
      const large = await app.request(path, {
        method: method.toUpperCase(),
        headers: { ...headers, 'content-type': 'application/json' },
        body: new Blob([big]).stream(),
        duplex: 'half',
      });
      out[`${method.toUpperCase()} ${template}`] = [text.status, large.status];
    }
  }
  return out;
}

/**
 * Everything wrong with an app's API contract, as sentences (none when it keeps it): its
 * OpenAPI document must be valid 3.1 and describe every route; `/docs` must serve the
 * reference; every route taking a body must refuse non-JSON (415) and a body over
 * `bodyLimitBytes` (413) from a caller with `headers` (a token that may call them).
 */
export async function apiContractProblems(
  app: DocumentedApp,
  opts: { bodyLimitBytes: number; headers?: Record<string, string> },
): Promise<string[]> {
  const doc = await openApiDocument(app);
  const problems: string[] = [];
  const invalid = await openApiProblems(doc);
  if (invalid) problems.push(`invalid OpenAPI document: ${invalid}`);
  for (const r of undocumentedRoutes(app, doc)) problems.push(`undocumented route ${r}`);
  const docs = await app.request('/docs');
  if (!(docs.headers.get('content-type') ?? '').startsWith('text/html')) {
    problems.push(`/docs answered ${docs.status} ${docs.headers.get('content-type')}`);
  }
  for (const [route, [text, large]] of Object.entries(
    await bodyGuards(app, opts.bodyLimitBytes, opts.headers),
  )) {
    if (text !== 415) problems.push(`${route} answered ${text} to a text/plain body`);
    if (large !== 413) problems.push(`${route} answered ${large} to an oversized body`);
  }
  return problems;
}
