import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { reportSubject } from '@cohort/contracts';
import {
  connect,
  provision,
  reportSubmitted,
  reportSubmittedV1,
  SecuredNats,
  topology,
  trialsIn,
  type TokenClaims,
} from '@cohort/infra/testing';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identity } from '../support/identity.js';
import { REPO_ROOT } from '../support/service-process.js';

const BIN = join(REPO_ROOT, 'infra', 'bin', 'cohort.mjs');
const STORED = 30;
/** The inactive threshold (5 s) and a pull's expiry (5 s), with room for a loaded machine. */
const CONSUMER_GONE_TIMEOUT_MS = 60_000;

const sponsor: TokenClaims = { sub: 'dr.lee', role: 'sponsor', trials: ['*'] };

let nats: SecuredNats;
let dir: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI's environment: this test's NATS, its DATA_DIR (so cli.env), the caller's token. */
async function env(claims: TokenClaims, extra: Record<string, string> = {}) {
  const base: NodeJS.ProcessEnv = { ...process.env, ...identity.env };
  for (const v of ['NATS_USER', 'NATS_PASSWORD', 'NATS_TOKEN']) delete base[v];
  return {
    ...base,
    NATS_URL: nats.url,
    DATA_DIR: nats.dataDir,
    COHORT_TOKEN: await identity.sign(claims),
    ...extra,
  };
}

/** The built `cohort` binary as the CLI NATS user. */
async function cohort(args: string[], claims = sponsor, extra: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], {
      env: await env(claims, extra),
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr } satisfies Run;
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr } satisfies Run;
  }
}

const lines = (r: Run) =>
  r.stdout
    .split('\n')
    .filter(Boolean)
    .map(
      (l) =>
        JSON.parse(l) as { seq: number; event: { version: number; data: { trialId: string } } },
    );

beforeAll(async () => {
  nats = await SecuredNats.start();
  dir = await mkdtemp(join(tmpdir(), 'cohort-replay-e2e-'));
  const as = (user: string) =>
    connect({ servers: nats.url, name: `replay-e2e-${user}`, ...nats.credentials(user) });
  const admin = await as('admin');
  await provision(admin, await jetstreamManager(admin.nc), topology());
  await admin.drain();
  const api = await as('epro-api');
  const js = jetstream(api.nc);
  for (let i = 0; i < STORED; i++) {
    const over = { trialId: i % 2 ? 'RB' : 'RA', patientId: `P-${i % 3}` };
    const e = i % 2 ? reportSubmittedV1(over) : reportSubmitted(over);
    await js.publish(reportSubject(over.trialId, over.patientId), JSON.stringify(e));
  }
  await api.drain();
  const pm = await as('project-management');
  await trialsIn(pm, ['RA']);
  await pm.drain();
});

afterAll(async () => {
  await nats?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('cohort replay and cohort stream get (the built binary, as the CLI NATS user)', () => {
  it('replays the whole stream as JSONL, every event at its latest version', async () => {
    const r = await cohort(['replay', 'REPORTS']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const got = lines(r);
    expect(got.map((l) => l.seq)).toEqual(Array.from({ length: STORED }, (_, i) => i + 1));
    expect(got.every((l) => l.event.version === 2)).toBe(true);
  });

  it('writes CSV to --out, and honours a trial-scoped token with --trial', async () => {
    const out = join(dir, 'ra.csv');
    const scoped = { ...sponsor, trials: ['RA'] };
    const r = await cohort(
      ['replay', 'REPORTS', '--trial', 'RA', '--format', 'csv', '--out', out],
      scoped,
    );
    expect(r.code, r.stderr).toBe(0);
    const [header, ...rows] = (await readFile(out, 'utf8')).trimEnd().split('\n');
    expect(header).toMatch(/^seq,subject,time,.*,data,invalid,answer\.a$/);
    expect(rows).toHaveLength(STORED / 2);
    expect(rows.every((row) => row.includes(',reports.RA.'))).toBe(true);
  });

  it('prints one message pretty, and exits 3 where there is none', async () => {
    const r = await cohort(['stream', 'get', 'REPORTS', '2']);
    expect(r.code, r.stderr).toBe(0);
    const m = JSON.parse(r.stdout) as {
      seq: number;
      subject: string;
      time: string;
      event: { version: number };
    };
    expect([m.seq, m.subject, m.event.version]).toEqual([2, 'reports.RB.P-1', 2]);
    expect(r.stdout).toContain('\n  "seq": 2,');
    expect((await cohort(['stream', 'get', 'REPORTS', '999'])).code).toBe(3);
    expect((await cohort(['stream', 'get', 'REPORTS', '2', '--trial', 'RA'])).code).toBe(3);
  });

  it('exits 3 for an unknown stream, 2 for a bad range or an --out it cannot write', async () => {
    const unknown = await cohort(['replay', 'NOPE']);
    expect([unknown.code, unknown.stderr]).toEqual([3, expect.stringMatching(/no stream NOPE/)]);
    const backwards = await cohort(['replay', 'REPORTS', '--from-seq', '9', '--to-seq', '3']);
    expect([backwards.code, backwards.stderr]).toEqual([
      2,
      expect.stringMatching(/after --to-seq/),
    ]);
    const badTime = await cohort(['replay', 'REPORTS', '--since', 'yesterday']);
    expect([badTime.code, badTime.stderr]).toEqual([2, expect.stringMatching(/--since must be/)]);
    const nowhere = await cohort([
      'replay',
      'REPORTS',
      '--out',
      join(dir, 'no', 'such', 'dir.jsonl'),
    ]);
    expect([nowhere.code, nowhere.stderr]).toEqual([2, expect.stringMatching(/cannot write/)]);
    expect((await cohort(['replay', 'REPORTS', '--format', 'xml'])).code).toBe(2);
  });

  it('exits 5 for a token or a NATS user that does not allow the read', async () => {
    const ops = await cohort(['replay', 'REPORTS'], { sub: 'ops.kim', role: 'ops', trials: [] });
    expect([ops.code, ops.stderr]).toEqual([5, expect.stringMatching(/does not allow/)]);
    const scoped = { ...sponsor, trials: ['RA'] };
    expect((await cohort(['replay', 'REPORTS'], scoped)).code).toBe(5);
    expect((await cohort(['replay', 'REPORTS', '--trial', 'RB'], scoped)).code).toBe(5);
    const epro = nats.credentials('epro-api');
    const asService = await cohort(['replay', 'REPORTS'], sponsor, {
      NATS_USER: epro.user,
      NATS_PASSWORD: epro.pass,
    });
    expect([asService.code, asService.stderr]).toEqual([5, expect.stringMatching(/NATS refused/)]);
    const noToken = await cohort(['replay', 'REPORTS'], sponsor, { COHORT_TOKEN: '' });
    expect(noToken.code).toBe(5);
  });

  it(
    'leaves no consumer behind when killed with SIGKILL mid-replay',
    async () => {
      const monitoring = await connect({
        servers: nats.url,
        name: 'replay-e2e-observer',
        ...nats.credentials('monitoring'),
      });
      const jsm = await jetstreamManager(monitoring.nc);
      const replays = async () => {
        const names: string[] = [];
        for await (const c of jsm.consumers.list('REPORTS')) {
          // A consumer removed while the server pages through the list comes as null.
          if (c?.name.startsWith('cohort_replay_')) names.push(c.name);
        }
        return names;
      };
      const gone = async () => {
        const deadline = Date.now() + CONSUMER_GONE_TIMEOUT_MS;
        while ((await replays()).length > 0 && Date.now() < deadline) await sleep(500);
        return replays();
      };
      try {
        expect(await gone()).toEqual([]);
        const out = join(dir, 'killed.jsonl');
        const child = spawn(
          process.execPath,
          [BIN, 'replay', 'REPORTS', '--rate', '2', '--out', out],
          {
            env: await env(sponsor),
            stdio: 'ignore',
          },
        );
        const exited = new Promise((resolve) => child.once('exit', resolve));
        let seen: string[] = [];
        for (let i = 0; i < 300 && seen.length === 0; i++, await sleep(100)) seen = await replays();
        expect(seen).toHaveLength(1);
        child.kill('SIGKILL');
        expect(await exited).toBe(null);
        expect((await stat(out)).isFile()).toBe(true);
        expect(await gone()).toEqual([]);
      } finally {
        await monitoring.drain();
      }
    },
    3 * CONSUMER_GONE_TIMEOUT_MS,
  );
});
