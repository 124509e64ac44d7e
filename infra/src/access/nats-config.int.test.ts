import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthorizationError } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../connection.js';
import { NatsServer } from '../testing/nats-server.js';
import { topology } from '../topology.js';
import {
  credentialsFile,
  natsDir,
  readCredentialsFile,
  resolveCredentials,
} from './credentials.js';
import { writeNatsConfig } from './nats-config.js';

let dataDir: string;
const write = (rotate = false) =>
  writeNatsConfig({ dataDir, host: '127.0.0.1', port: 4222, topology: topology(), rotate });
const mode = async (path: string) => (await stat(path)).mode & 0o777;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'cohort-nats-config-'));
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('cohort nats-config', () => {
  it('writes a private env file per user, and a configuration holding only hashes', async () => {
    const r = await write();
    expect(r.users.map((u) => [u.user, u.password])).toEqual([
      ['admin', 'new'],
      ['cli', 'new'],
      ['epro-api', 'new'],
      ['project-management', 'new'],
      ['edc', 'new'],
      ['monitoring', 'new'],
    ]);
    expect(await mode(natsDir(dataDir))).toBe(0o700);
    const config = await readFile(r.configFile, 'utf8');
    for (const u of r.users) {
      expect(await mode(u.envFile)).toBe(0o600);
      const c = readCredentialsFile(dataDir, u.user)!;
      expect(c.user).toBe(u.user);
      expect(c.pass).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(config).not.toContain(c.pass);
    }
    expect(config.match(/"password": "\$2[aby]\$11\$/g)).toHaveLength(r.users.length);
  });

  it('keeps every password when run again, and makes new ones with --rotate', async () => {
    const before = readCredentialsFile(dataDir, 'edc')!.pass;
    const again = await write();
    expect(again.users.every((u) => u.password === 'kept')).toBe(true);
    expect(readCredentialsFile(dataDir, 'edc')!.pass).toBe(before);
    const rotated = await write(true);
    expect(rotated.users.every((u) => u.password === 'new')).toBe(true);
    expect(readCredentialsFile(dataDir, 'edc')!.pass).not.toBe(before);
  });

  it('is a configuration nats-server runs: the env file password gets in, another does not', async () => {
    const { configFile } = await write();
    const server = await NatsServer.startWithConfig(configFile, natsDir(dataDir));
    try {
      const edc = readCredentialsFile(dataDir, 'edc')!;
      const conn = await connect({ servers: server.url, name: 't', ...edc });
      await conn.drain();
      const wrong = await connect({ servers: server.url, name: 't', user: 'edc', pass: 'guess' })
        .then(async (c) => {
          await c.drain();
          return new Error('connected');
        })
        .catch((e: unknown) => e);
      expect(wrong).toBeInstanceOf(AuthorizationError);
    } finally {
      await server.stop();
    }
  });
});

describe('resolving credentials', () => {
  it('takes the environment first, then the env file, then none', () => {
    const fromFile = readCredentialsFile(dataDir, 'cli')!;
    expect(resolveCredentials('cli', { user: 'u', pass: 'p' }, dataDir)).toEqual({
      user: 'u',
      pass: 'p',
    });
    expect(resolveCredentials('cli', { token: 't' }, dataDir)).toEqual({ token: 't' });
    expect(resolveCredentials('cli', {}, dataDir)).toEqual(fromFile);
    expect(resolveCredentials('nobody', {}, dataDir)).toEqual({});
  });

  it('reads KEY=VALUE lines, skipping comments and blanks', async () => {
    await writeFile(
      credentialsFile(dataDir, 'hand'),
      '# mine\n\nNATS_USER=hand\nNATS_PASSWORD=a=b\n',
    );
    expect(readCredentialsFile(dataDir, 'hand')).toEqual({
      user: 'hand',
      pass: 'a=b',
      token: undefined,
    });
  });
});
