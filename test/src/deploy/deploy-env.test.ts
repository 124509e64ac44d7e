// Every environment variable deploy/ sets on a Cohort container is one that container reads:
// the names come from the services' configuration schemas, so a renamed or removed variable
// fails here instead of being silently ignored in production.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SERVICE_ENV_VARIABLES } from '@cohort/infra/testing';
import { projectManagementEnv } from '@cohort/project-management/env';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../support/service-process.js';

const DEPLOY = join(REPO_ROOT, 'deploy');
const SERVICES = ['epro-api', 'project-management', 'edc', 'monitoring'];
/** Cohort's own image: containers of other images (NATS, PostgreSQL) read their own variables. */
const isCohortImage = (image: unknown) => typeof image === 'string' && image.startsWith('cohort:');

/** What a Cohort container may set: runService's variables, and its service's own. */
function knownVariables(container: string): Set<string> {
  const own = container === 'project-management' ? Object.keys(projectManagementEnv) : [];
  return new Set([...SERVICE_ENV_VARIABLES, ...own]);
}

type Doc = Record<string, unknown>;

async function yamlFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await yamlFiles(path)));
    else if (/\.ya?ml$/.test(e.name)) out.push(path);
  }
  return out;
}

async function documents(): Promise<{ file: string; doc: Doc }[]> {
  const out: { file: string; doc: Doc }[] = [];
  for (const file of await yamlFiles(DEPLOY)) {
    for (const d of parseAllDocuments(await readFile(file, 'utf8'), { merge: true })) {
      expect(d.errors, file).toEqual([]);
      const doc = d.toJS() as Doc | null;
      if (doc) out.push({ file, doc });
    }
  }
  return out;
}

/** A Cohort container found in deploy/ and the variables it is given, by name. */
interface CohortContainer {
  where: string;
  name: string;
  variables: string[];
  spec: Doc;
}

function composeContainers(file: string, doc: Doc): CohortContainer[] {
  const services = (doc.services ?? {}) as Record<string, Doc>;
  return Object.entries(services)
    .filter(([, s]) => isCohortImage(s.image))
    .map(([name, s]) => {
      const env = s.environment ?? {};
      const variables = Array.isArray(env)
        ? env.map((e) => String(e).split('=')[0]!)
        : Object.keys(env);
      return { where: `${file} services.${name}`, name, variables, spec: s };
    });
}

/** Keys of the ConfigMaps and Secrets under deploy/, by kind and name. */
function envSources(docs: Doc[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const d of docs) {
    if (d.kind !== 'ConfigMap' && d.kind !== 'Secret') continue;
    const name = (d.metadata as Doc).name as string;
    const keys = [d.data, d.stringData].flatMap((x) => Object.keys((x as Doc | undefined) ?? {}));
    out.set(`${d.kind}/${name}`, keys);
  }
  return out;
}

function k8sContainers(file: string, doc: Doc, sources: Map<string, string[]>): CohortContainer[] {
  const pod = ((doc.spec as Doc | undefined)?.template as Doc | undefined)?.spec as Doc | undefined;
  const containers = (pod?.containers ?? []) as Doc[];
  return containers
    .filter((c) => isCohortImage(c.image))
    .map((c) => {
      const variables = ((c.env ?? []) as Doc[]).map((e) => e.name as string);
      for (const from of (c.envFrom ?? []) as Doc[]) {
        const ref = (from.configMapRef ?? from.secretRef) as Doc;
        const key = `${from.configMapRef ? 'ConfigMap' : 'Secret'}/${ref.name as string}`;
        const keys = sources.get(key);
        // An envFrom naming nothing defined here would hide what it sets from this check.
        expect(keys, `${file} ${c.name as string}: ${key} is defined under deploy/`).toBeDefined();
        variables.push(...keys!);
      }
      return {
        where: `${file} ${doc.kind as string}/${c.name as string}`,
        name: c.name as string,
        variables,
        spec: { ...c, pod, doc },
      };
    });
}

async function cohortContainers() {
  const docs = await documents();
  const sources = envSources(docs.map((d) => d.doc));
  const compose: CohortContainer[] = [];
  const k8s: CohortContainer[] = [];
  for (const { file, doc } of docs) {
    const rel = file.slice(DEPLOY.length + 1);
    if (doc.services) compose.push(...composeContainers(rel, doc));
    if (doc.kind) k8s.push(...k8sContainers(rel, doc, sources));
  }
  return { compose, k8s };
}

const unknown = (c: CohortContainer) => {
  const known = knownVariables(c.name);
  return c.variables.filter((v) => !known.has(v)).map((v) => `${c.where}: ${v}`);
};

describe('deploy/', () => {
  it('sets on every Cohort container only variables that container reads', async () => {
    const { compose, k8s } = await cohortContainers();
    // Every service is deployed both ways, so the check below covers each of them.
    for (const s of SERVICES) {
      expect(compose.map((c) => c.name)).toContain(s);
      expect(k8s.map((c) => c.name)).toContain(s);
    }
    expect([...compose, ...k8s].flatMap(unknown)).toEqual([]);
    // Each service is told where all three NATS nodes are.
    for (const c of [...compose, ...k8s].filter((c) => SERVICES.includes(c.name))) {
      expect(c.variables, c.where).toContain('NATS_URL');
      expect(c.variables, c.where).toContain('COHORT_REPLICAS');
    }
  });

  it('would report a variable no service reads', () => {
    const c = { where: 'x', name: 'edc', variables: ['NATS_URL', 'NATS_URLS'], spec: {} };
    expect(unknown(c)).toEqual(['x: NATS_URLS']);
    expect(knownVariables('project-management').has('EVENTSTORE_CONNECTION_STRING')).toBe(true);
    expect(knownVariables('edc').has('EVENTSTORE_CONNECTION_STRING')).toBe(false);
  });

  it('runs two replicas of each service on Kubernetes, with probes and resource limits', async () => {
    const { k8s } = await cohortContainers();
    for (const s of SERVICES) {
      const c = k8s.find((x) => x.name === s)!;
      const { doc, readinessProbe, livenessProbe, resources } = c.spec as Record<string, Doc>;
      expect((doc!.spec as Doc).replicas, s).toBe(2);
      expect((readinessProbe!.httpGet as Doc).path, s).toBe('/readyz');
      expect((livenessProbe!.httpGet as Doc).path, s).toBe('/healthz');
      expect(Object.keys(resources!.limits as Doc).sort(), s).toEqual(['cpu', 'memory']);
    }
  });

  it('runs a three-node JetStream cluster that syncs every write', async () => {
    const docs = (await documents()).map((d) => d.doc);
    const nats = docs.find((d) => d.kind === 'StatefulSet' && (d.metadata as Doc).name === 'nats')!;
    expect((nats.spec as Doc).replicas).toBe(3);
    const config = docs.find(
      (d) => d.kind === 'ConfigMap' && (d.metadata as Doc).name === 'nats-config',
    )!;
    const conf = (config.data as Doc)['nats.conf'] as string;
    expect(conf).toMatch(/sync_interval:\s*always/);
    expect(conf.match(/nats-route:\/\//g)).toHaveLength(3);
    const compose = await readFile(join(DEPLOY, 'nats', 'nats.conf'), 'utf8');
    expect(compose).toMatch(/sync_interval:\s*always/);
    const image = ((((nats.spec as Doc).template as Doc).spec as Doc).containers as Doc[])[0]!
      .image as string;
    const [major, minor, patch] = /nats:(\d+)\.(\d+)\.(\d+)/.exec(image)!.slice(1).map(Number);
    expect(major! * 1e6 + minor! * 1e3 + patch!).toBeGreaterThanOrEqual(2_010_023);
  });
});
