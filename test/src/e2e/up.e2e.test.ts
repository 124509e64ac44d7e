import { connect, natsConfigFile } from '@cohort/infra/testing';
import { AuthorizationError } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cohortUp,
  disposeUp,
  listening,
  processExists,
  READY_TIMEOUT_MS,
  servicesReady,
  SERVICE_PORTS,
  STOP_TIMEOUT_MS,
  stopUp,
  type Up,
} from '../support/cohort-up.js';

let running: Up | undefined;

afterEach(async () => {
  // A failed test must not leave services on the fixed ports for the next one.
  const up = running;
  running = undefined;
  if (up) await disposeUp(up);
}, STOP_TIMEOUT_MS + 10_000);

describe.each(['SIGTERM', 'SIGINT'] as const)('cohort up, then %s to its process', (signal) => {
  it(
    'stops every service and the nats-server it started, and exits 0',
    async () => {
      const up = (running = await cohortUp());
      const ports = Object.values(SERVICE_PORTS);
      await servicesReady(up);
      const started = /started nats-server .* pid (\d+)\)/.exec(up.output());
      expect(started, up.output()).not.toBeNull();
      const natsPid = Number(started![1]);
      expect(processExists(natsPid)).toBe(true);
      expect(await listening(up.natsPort)).toBe(true);
      // It runs with the generated users: every service got in with its own, nobody gets in
      // without one.
      expect(up.output()).toContain(`config ${natsConfigFile(up.dataDir)}`);
      const anonymous = await connect({ servers: `nats://127.0.0.1:${up.natsPort}`, name: 't' })
        .then(async (c) => {
          await c.drain();
          return 'connected';
        })
        .catch((e: unknown) => e);
      expect(anonymous).toBeInstanceOf(AuthorizationError);

      // To this process alone, as a supervisor does; not its group.
      const exited = await stopUp(up, signal);
      expect(exited, up.output()).toEqual({ code: 0, signal: null });

      for (const port of [...ports, up.natsPort]) {
        expect(await listening(port), `something still listens on ${port}`).toBe(false);
      }
      expect(processExists(natsPid)).toBe(false);
      expect(up.output()).toMatch(new RegExp(`${signal}: stopping every service`));
    },
    READY_TIMEOUT_MS + STOP_TIMEOUT_MS + 10_000,
  );
});
