import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { as } from './identity.js';
import { ServiceProcess } from './service-process.js';

/**
 * Environment for an edc process with a database of its own: a fresh PGlite directory, or,
 * when DATABASE_URL is set, a schema of its own (`schema` lets several processes share one).
 */
export async function edcEnv(
  natsUrl: string,
  opts: { schema?: string } = {},
): Promise<Record<string, string>> {
  const env: Record<string, string> = {
    NATS_URL: natsUrl,
    // Redelivery after a crash comes after the ack wait: short, so tests do not wait long.
    SUBSCRIBER_ACK_WAIT_MS: '2000',
    SUBSCRIBER_BACKOFF_MS: '200',
  };
  if (process.env.DATABASE_URL) {
    env.DATABASE_URL = process.env.DATABASE_URL;
    env.DATABASE_SCHEMA = opts.schema ?? newSchema();
  } else {
    env.DATA_DIR = await mkdtemp(join(tmpdir(), 'cohort-edc-'));
  }
  return env;
}

const schemas = new Set<string>();

export function newSchema(): string {
  const s = `e2e_${crypto.randomUUID().replaceAll('-', '').slice(0, 12)}`;
  schemas.add(s);
  return s;
}

/** Drops the PostgreSQL schemas made by newSchema() (nothing to do on PGlite). */
export async function dropSchemas(): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (!url || schemas.size === 0) return;
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  for (const s of schemas) await c.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  schemas.clear();
  await c.end();
}

/** Sums the samples of a Prometheus metric, of one consumer when given (0 when absent). */
export async function metric(
  svc: ServiceProcess,
  name: string,
  consumer = 'edc-case-reports',
): Promise<number> {
  const text = await (await fetch(`${svc.url}/metrics`)).text();
  return text
    .split('\n')
    .filter(
      (l) =>
        (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) &&
        l.includes(`consumer="${consumer}"`),
    )
    .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}

/** GETs JSON as `headers` (a monitor, who may read projects, reports and summaries). */
export async function getJson<T>(
  url: string,
  headers: Record<string, string> = as.monitor,
): Promise<{ status: number; body: T }> {
  const res = await fetch(url, { headers });
  return { status: res.status, body: (await res.json()) as T };
}

/** Every report of a trial, following the cursor. */
export async function allReports(
  svc: Pick<ServiceProcess, 'url'>,
  trialId: string,
  patientId?: string,
) {
  const items: { eventId: string; requestId: string; patientId: string }[] = [];
  let cursor: string | null = null;
  const base = patientId
    ? `${svc.url}/v1/trials/${trialId}/patients/${patientId}/reports`
    : `${svc.url}/v1/trials/${trialId}/reports`;
  do {
    const page: { body: { items: typeof items; nextCursor: string | null } } = await getJson(
      `${base}?limit=500${cursor ? `&cursor=${cursor}` : ''}`,
    );
    items.push(...page.body.items);
    cursor = page.body.nextCursor;
  } while (cursor);
  return items;
}

export async function summary(svc: Pick<ServiceProcess, 'url'>, trialId: string) {
  const r = await getJson<{ reports: number; patients: number }>(
    `${svc.url}/v1/trials/${trialId}/summary`,
  );
  return r.status === 200 ? r.body : { reports: 0, patients: 0 };
}
