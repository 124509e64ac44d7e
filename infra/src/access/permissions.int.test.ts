import { reportSubject, Streams } from '@cohort/contracts';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { AuthorizationError, PermissionViolationError } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Connection } from '../connection.js';
import { isPermissionViolation, PublishNotAllowedError } from '../errors.js';
import { Publisher } from '../publisher.js';
import { ensureConsumer } from '../subscriber/consumer.js';
import { SecuredNats } from '../testing/secured-nats.js';
import { reportSubmitted } from '../testing/events.js';
import { provision, REQUEST_LEDGER_BUCKET, topology } from '../topology.js';
import { allDurables, SERVICES } from './services.js';

const REPORTS = Streams.REPORTS.name;
const CASE_REPORTS = SERVICES.edc.durables.caseReports;
const REPORT_COUNTS = SERVICES['project-management'].durables.reportCounts;
const enc = new TextEncoder();

let nats: SecuredNats;
const conns: Connection[] = [];
let adminJsm: JetStreamManager;

async function as(user: string): Promise<Connection> {
  const conn = await connect({
    servers: nats.url,
    name: `test-${user}`,
    ...nats.credentials(user),
  });
  conns.push(conn);
  return conn;
}

/** The refusal of `op` as the client sees it: a permission violation, else the test fails. */
async function refused(op: () => Promise<unknown>): Promise<unknown> {
  const e = await op().then(
    () => new Error('allowed'),
    (err: unknown) => err,
  );
  expect(isPermissionViolation(e), String(e)).toBe(true);
  return e;
}

/** What must not change whoever tries: REPORTS' configuration and contents, edc's durable. */
async function state() {
  const info = await adminJsm.streams.info(REPORTS);
  const durable = await adminJsm.consumers.info(REPORTS, CASE_REPORTS.name);
  return { config: info.config, messages: info.state.messages, durable: durable.config };
}

beforeAll(async () => {
  nats = await SecuredNats.start();
  const admin = await as('admin');
  adminJsm = await jetstreamManager(admin.nc);
  await provision(admin, adminJsm, topology({ consumers: allDurables() }));
  const api = await as('epro-api');
  const p = new Publisher(api);
  for (const patientId of ['P1', 'P2', 'P3']) {
    const e = reportSubmitted({ trialId: 'PERM', patientId });
    await p.publish(reportSubject('PERM', patientId), enc.encode(JSON.stringify(e)), {
      msgId: e.id,
    });
  }
});

afterAll(async () => {
  for (const c of conns) await c.drain().catch(() => undefined);
  await nats?.dispose();
});

describe("edc's user", () => {
  it('may not delete, purge or update REPORTS, nor delete a message; nothing changes', async () => {
    const before = await state();
    expect(before.messages).toBe(3);
    const jsm = await jetstreamManager((await as('edc')).nc);
    await refused(() => jsm.streams.delete(REPORTS));
    await refused(() => jsm.streams.purge(REPORTS));
    await refused(() => jsm.streams.update(REPORTS, { max_msgs: 1 }));
    await refused(() => jsm.streams.update(REPORTS, { deny_delete: false, deny_purge: false }));
    await refused(() => jsm.streams.deleteMessage(REPORTS, 1));
    await refused(() => jsm.consumers.delete(REPORTS, CASE_REPORTS.name));
    expect(await state()).toEqual(before);
  });

  it('may not publish reports or project events, forged or not', async () => {
    const edc = await as('edc');
    const forged = enc.encode(JSON.stringify(reportSubmitted({ trialId: 'PERM', patientId: 'X' })));
    const e = await refused(() => new Publisher(edc).publish('reports.x.y', forged));
    expect(e).toBeInstanceOf(PublishNotAllowedError);
    await refused(() => new Publisher(edc).publish('projects.x', forged));
    await refused(() => jetstream(edc.nc).publish('projects.x', forged));
    expect((await adminJsm.streams.info(Streams.PROJECTS.name)).state.messages).toBe(0);
    expect((await state()).messages).toBe(3);
  });

  it('may neither read nor write the REQUESTS ledger', async () => {
    const kv = await new Kvm((await as('edc')).nc).open(REQUEST_LEDGER_BUCKET);
    await refused(() => kv.get('some-request'));
    await refused(() => kv.put('some-request', '{}'));
    const info = await adminJsm.streams.info(`KV_${REQUEST_LEDGER_BUCKET}`);
    expect(info.state.messages).toBe(0); // the epro-api publishes above went straight to REPORTS
  });

  it("creates and updates its own durables only, never another service's", async () => {
    const before = await adminJsm.consumers.info(REPORTS, REPORT_COUNTS.name);
    const edc = await as('edc');
    const jsm = await jetstreamManager(edc.nc);
    expect(await ensureConsumer(jsm, { ...CASE_REPORTS, maxDeliver: 4 })).toBe('updated');
    await refused(() => ensureConsumer(jsm, { ...REPORT_COUNTS, maxDeliver: 1 }));
    // The same rewrite through the subjects a 2.9 client may use: named, and the legacy
    // ephemeral create that takes a name and would turn the durable into an ephemeral.
    const body = (name: string) =>
      JSON.stringify({ stream_name: REPORTS, config: { name, ack_policy: 'explicit' } });
    await refused(() =>
      edc.nc.request(
        `$JS.API.CONSUMER.CREATE.${REPORTS}.${REPORT_COUNTS.name}`,
        body(REPORT_COUNTS.name),
      ),
    );
    await refused(() =>
      edc.nc.request(`$JS.API.CONSUMER.CREATE.${REPORTS}`, body(REPORT_COUNTS.name)),
    );
    // An ordered consumer of its own is a consumer creation too.
    await refused(async () => {
      const c = await jetstream(edc.nc).consumers.get(REPORTS);
      await c.next({ expires: 1_000 });
    });
    expect((await adminJsm.consumers.info(REPORTS, REPORT_COUNTS.name)).config).toEqual(
      before.config,
    );
    await ensureConsumer(jsm, CASE_REPORTS); // back to the topology's settings
  });

  it("may not read another user's replies", async () => {
    const edc = await as('edc');
    for (const subject of ['_INBOX_epro-api.>', '_INBOX.>', '>']) {
      const sub = edc.nc.subscribe(subject);
      const err = await sub.closed;
      expect(err, subject).toBeInstanceOf(PermissionViolationError);
    }
  });
});

describe("epro-api's user", () => {
  it('may not publish project events', async () => {
    const api = await as('epro-api');
    await refused(() => new Publisher(api).publish('projects.TRIAL', enc.encode('{}')));
    expect((await adminJsm.streams.info(Streams.PROJECTS.name)).state.messages).toBe(0);
  });

  it("may not pull from another service's durable", async () => {
    const api = await as('epro-api');
    await refused(() => jetstream(api.nc).consumers.get(REPORTS, CASE_REPORTS.name));
    await refused(() =>
      api.nc.request(
        `$JS.API.CONSUMER.MSG.NEXT.${REPORTS}.${CASE_REPORTS.name}`,
        JSON.stringify({ batch: 1, expires: 500_000_000 }),
      ),
    );
    const durable = await adminJsm.consumers.info(REPORTS, CASE_REPORTS.name);
    expect(durable.delivered.stream_seq).toBe(0);
  });
});

describe("the CLI's user", () => {
  it('replays through an ordered consumer of its own, never touching a durable', async () => {
    const before = await state();
    const cli = await as('cli');
    const js = jetstream(cli.nc);
    const ordered = await js.consumers.get(REPORTS, { filter_subjects: 'reports.>' });
    expect((await ordered.next({ expires: 1_000 }))?.seq).toBe(1);
    const body = (name: string) =>
      JSON.stringify({ stream_name: REPORTS, config: { name, ack_policy: 'explicit' } });
    await refused(() =>
      cli.nc.request(
        `$JS.API.CONSUMER.CREATE.${REPORTS}.${CASE_REPORTS.name}`,
        body(CASE_REPORTS.name),
      ),
    );
    await refused(() => cli.nc.request(`$JS.API.CONSUMER.CREATE.${REPORTS}`, body('any')));
    await refused(() =>
      cli.nc.request(
        `$JS.API.CONSUMER.DURABLE.CREATE.${REPORTS}.kept`,
        JSON.stringify({ stream_name: REPORTS, config: { durable_name: 'kept' } }),
      ),
    );
    await refused(() =>
      cli.nc.request(
        `$JS.API.CONSUMER.MSG.NEXT.${REPORTS}.${CASE_REPORTS.name}`,
        JSON.stringify({ batch: 1, expires: 500_000_000 }),
      ),
    );
    expect(await state()).toEqual(before);
  });
});

describe('every user', () => {
  it('needs credentials: a connection without any is refused', async () => {
    const e = await connect({ servers: nats.url, name: 'anonymous' }).then(
      (c) => {
        conns.push(c);
        return new Error('connected');
      },
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(AuthorizationError);
  });

  it('may not delete a stream, purge one or delete a consumer: admin neither', async () => {
    const before = await state();
    for (const user of ['admin', 'cli', 'epro-api', 'project-management', 'edc']) {
      const jsm = await jetstreamManager((await as(user)).nc);
      await refused(() => jsm.streams.delete(REPORTS));
      await refused(() => jsm.streams.delete(`KV_${REQUEST_LEDGER_BUCKET}`));
      await refused(() => jsm.streams.purge(Streams.DEADLETTERS.name));
      await refused(() => jsm.streams.deleteMessage(REPORTS, 2));
      await refused(() => jsm.consumers.delete(REPORTS, CASE_REPORTS.name));
    }
    expect(await state()).toEqual(before);
  });
});
