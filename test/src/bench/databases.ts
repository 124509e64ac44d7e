// The databases bench:projection compares: PGlite always, PostgreSQL when DATABASE_URL is set.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type SqlStore } from '@cohort/infra/testing';
import { edcEnv, newSchema } from '../support/edc.js';

export interface Kind {
  name: 'PGlite' | 'PostgreSQL';
  open(): Promise<SqlStore>;
  env(natsUrl: string): Promise<Record<string, string>>;
}

export const kinds: Kind[] = [
  {
    name: 'PGlite',
    // A data directory, as the service has: the raw upsert writes to the same kind of database.
    open: async () =>
      openStore({ service: 'bench', dataDir: await mkdtemp(join(tmpdir(), 'cohort-bench-')) }),
    env: async (natsUrl) => ({
      NATS_URL: natsUrl,
      DATA_DIR: await mkdtemp(join(tmpdir(), 'cohort-bench-')),
      DATABASE_URL: '', // PGlite even when DATABASE_URL is set for the PostgreSQL run
    }),
  },
];
if (process.env.DATABASE_URL) {
  const url = process.env.DATABASE_URL;
  kinds.push({
    name: 'PostgreSQL',
    open: () => openStore({ service: 'bench', databaseUrl: url, schema: newSchema() }),
    env: async (natsUrl) => {
      // Production defaults: no shortened ack wait or backoff.
      const env = await edcEnv(natsUrl);
      delete env.SUBSCRIBER_ACK_WAIT_MS;
      delete env.SUBSCRIBER_BACKOFF_MS;
      return env;
    },
  });
}
