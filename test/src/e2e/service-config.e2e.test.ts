import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NatsServer } from '@cohort/infra/testing';
import { describe, expect, it } from 'vitest';
import { ServiceProcess } from '../support/service-process.js';

/** Exit code of a service that cannot start with its configuration. */
const EXIT_BAD_CONFIG = 2;

describe('a service with a bad variable', () => {
  it.each(['epro-api', 'project-management', 'edc', 'monitoring'])(
    '%s stops at start with exit code 2, naming the variable',
    async (name) => {
      const svc = await ServiceProcess.start(
        name,
        {
          PORT: 'abc',
          COHORT_REPLICAS: '9',
          SUBSCRIBER_BATCH_SIZE: 'lots',
          NATS_URL: 'nats://127.0.0.1:1',
        },
        { waitReady: false },
      );
      expect(await svc.exited()).toBe(EXIT_BAD_CONFIG);
      const output = svc.output.join('');
      expect(output).toMatch(/PORT must be a whole number/);
      expect(output).toMatch(/COHORT_REPLICAS/);
      expect(output).toMatch(/SUBSCRIBER_BATCH_SIZE must be a whole number/);
    },
  );
});

describe('token keys', () => {
  /** No key configuration: what `identity.env` sets is blanked out. */
  const NO_KEYS = {
    COHORT_JWKS_FILE: '',
    COHORT_JWKS_URL: '',
    COHORT_JWT_ISSUER: '',
    COHORT_JWT_AUDIENCE: '',
  };

  it('with NODE_ENV=production and no key configuration, a service refuses to start', async () => {
    const svc = await ServiceProcess.start(
      'epro-api',
      { ...NO_KEYS, NODE_ENV: 'production', NATS_URL: 'nats://127.0.0.1:1' },
      { waitReady: false },
    );
    expect(await svc.exited()).toBe(EXIT_BAD_CONFIG);
    expect(svc.output.join('')).toMatch(/no token keys are configured: set COHORT_JWKS_URL/);
  });

  it('with no key configuration, a service uses the development key set, warns, and says so in /readyz', async () => {
    await using nats = await NatsServer.start();
    const dataDir = await mkdtemp(join(tmpdir(), 'cohort-dev-keys-'));
    const svc = await ServiceProcess.start('epro-api', {
      ...NO_KEYS,
      NATS_URL: nats.url,
      DATA_DIR: dataDir,
    });
    try {
      const ready = (await (await fetch(`${svc.url}/readyz`)).json()) as { auth?: string };
      expect(ready.auth).toBe('development');
      expect(svc.output.join('')).toMatch(/verified with the development key set/);
      expect((await readdir(join(dataDir, 'auth'))).length).toBeGreaterThan(0);
    } finally {
      await svc.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
