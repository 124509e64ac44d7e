import { projectSubject, Streams } from '@cohort/contracts';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allDurables } from '../access/services.js';
import { connect, type Connection } from '../connection.js';
import { Publisher } from '../publisher.js';
import { trialsIn } from '../testing/projects.js';
import { SecuredNats } from '../testing/secured-nats.js';
import { provision, topology } from '../topology.js';
import { LastPerSubjectView } from './last-per-subject.js';

const PROJECTS = Streams.PROJECTS.name;

let nats: SecuredNats;
let adminConn: Connection;
let admin: JetStreamManager;
let pm: Connection;
let api: Connection;
let view: LastPerSubjectView<typeof PROJECTS>;

const statusOf = (trial: string) => {
  const e = view.get(projectSubject(trial));
  if (e?.type === 'ProjectStatusChanged') return e.data.to;
  return e?.type === 'ProjectCreated' ? e.data.status : undefined;
};

beforeAll(async () => {
  nats = await SecuredNats.start();
  const as = (user: string) =>
    connect({ servers: nats.url, name: `view-${user}`, ...nats.credentials(user) });
  adminConn = await as('admin');
  admin = await jetstreamManager(adminConn.nc);
  await provision(adminConn, admin, topology({ consumers: allDurables() }));
  [pm, api] = await Promise.all([as('project-management'), as('epro-api')]);
  await trialsIn(pm, ['V-1', 'V-2'], 'enrolling');
  await trialsIn(pm, ['V-3'], 'planned');
  view = new LastPerSubjectView(api, PROJECTS, Streams.PROJECTS.subjects[0]);
  await view.start();
  await view.ready;
});

afterAll(async () => {
  await view?.stop();
  await pm?.drain();
  await api?.drain();
  await adminConn?.drain();
  await nats?.dispose();
});

describe('the last event of every subject, as epro-api reads it', () => {
  it('loads every subject at start', () => {
    expect(['V-1', 'V-2', 'V-3', 'V-4'].map(statusOf)).toEqual([
      'enrolling',
      'enrolling',
      'planned',
      undefined,
    ]);
  });

  it('follows what is appended afterwards, and skips what is not an event', async () => {
    await new Publisher(pm).publish(projectSubject('V-1'), new TextEncoder().encode('{"x":1}'));
    await trialsIn(pm, ['V-4'], 'active');
    await expect.poll(() => statusOf('V-4'), { timeout: 5_000 }).toBe('active');
    expect(statusOf('V-1')).toBe('enrolling');
  });

  it('creates no consumer to do so: its user may not', async () => {
    const info = await admin.streams.info(PROJECTS);
    const declared = allDurables().filter((d) => d.stream === PROJECTS);
    expect(info.state.consumer_count).toBe(declared.length);
  });
});
