import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { natsDir, readCredentialsFile, type NatsCredentials } from '../access/credentials.js';
import { writeNatsConfig } from '../access/nats-config.js';
import { topology } from '../topology.js';
import { NatsServer } from './nats-server.js';

/**
 * A real nats-server running the configuration `cohort nats-config` generates: every user of
 * the topology with its derived permissions, passwords in env files under a temporary DATA_DIR.
 */
export class SecuredNats {
  private constructor(
    readonly server: NatsServer,
    /** The DATA_DIR whose `nats/` holds the configuration and each user's env file. */
    readonly dataDir: string,
    readonly configFile: string,
  ) {}

  static async start(): Promise<SecuredNats> {
    const dataDir = await mkdtemp(join(tmpdir(), 'cohort-secured-'));
    // The listen address is the harness's (a free port); the file's is only a placeholder.
    const { configFile } = await writeNatsConfig({
      dataDir,
      host: '127.0.0.1',
      port: 4222,
      topology: topology(),
    });
    const server = await NatsServer.startWithConfig(configFile, natsDir(dataDir));
    return new SecuredNats(server, dataDir, configFile);
  }

  get url(): string {
    return this.server.url;
  }

  /** The user's name and password, as its env file holds them. */
  credentials(user: string): Required<Pick<NatsCredentials, 'user' | 'pass'>> {
    const c = readCredentialsFile(this.dataDir, user);
    if (!c?.user || !c.pass) throw new Error(`no credentials for ${user} in ${this.dataDir}`);
    return { user: c.user, pass: c.pass };
  }

  async dispose(): Promise<void> {
    await this.server.dispose();
    await rm(this.dataDir, { recursive: true, force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}
