import { describe, expect, it } from 'vitest';
import { ServiceProcess } from '../support/service-process.js';

/** Exit code of a service that cannot start with its configuration. */
const EXIT_BAD_CONFIG = 2;

describe('a service with a bad variable', () => {
  it.each(['epro-api', 'project-management', 'edc'])(
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
