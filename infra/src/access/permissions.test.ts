import { Streams } from '@cohort/contracts';
import { describe, expect, it } from 'vitest';
import { topology } from '../topology.js';
import { FORBIDDEN_TO_ALL, natsPermissions } from './permissions.js';
import { renderServerConfig } from './server-config.js';
import { allDurables, natsUsers, SERVICES, type ServiceNeeds } from './services.js';

const topo = topology();
const perms = natsPermissions(topo);
const allows = (user: string) => perms[user]!.publish.allow;

describe('the durables', () => {
  it('keep the names they have always had: a renamed durable starts its stream over', () => {
    expect(allDurables().map((d) => `${d.stream}/${d.name}`)).toEqual([
      'PROJECTS/project-management-portfolio',
      'REDRIVE/project-management-portfolio-redrive',
      'REPORTS/project-management-report-counts',
      'REDRIVE/project-management-report-counts-redrive',
      'REPORTS/edc-case-reports',
      'REDRIVE/edc-case-reports-redrive',
      'PROJECTS/edc-trial-status',
      'REDRIVE/edc-trial-status-redrive',
      'PROJECTS/monitoring-trials',
      'REDRIVE/monitoring-trials-redrive',
      'REPORTS/monitoring-diaries',
      'REDRIVE/monitoring-diaries-redrive',
      'MONITORING/monitoring-alerts',
      'REDRIVE/monitoring-alerts-redrive',
      'ADVISORIES/cohort-deadletters',
    ]);
  });
});

describe('the permissions derived from the topology', () => {
  it('give every service, the CLI and admin a user', () => {
    expect(Object.keys(perms).sort()).toEqual(natsUsers().sort());
    expect(natsUsers()).toEqual([
      'admin',
      'cli',
      'epro-api',
      'project-management',
      'edc',
      'monitoring',
    ]);
  });

  it('let only admin create or update streams and durables of other services', () => {
    for (const user of natsUsers().filter((u) => u !== 'admin')) {
      expect(
        allows(user).filter((s) => /STREAM\.(CREATE|UPDATE)/.test(s)),
        user,
      ).toEqual([]);
    }
    expect(allows('admin')).toContain('$JS.API.STREAM.UPDATE.REPORTS');
    expect(allows('admin')).toContain('$JS.API.STREAM.CREATE.KV_REQUESTS');
  });

  it('forbid deleting, purging and editing streams and deleting consumers to everyone', () => {
    for (const user of natsUsers()) {
      expect(perms[user]!.publish.deny, user).toEqual(expect.arrayContaining(FORBIDDEN_TO_ALL));
      expect(
        allows(user).filter((s) => /DELETE|PURGE/.test(s)),
        user,
      ).toEqual([]);
    }
  });

  it('let a service create only its own durables, denying every other by name', () => {
    const edc = perms.edc!.publish;
    expect(edc.allow).toContain('$JS.API.CONSUMER.CREATE.REPORTS.edc-case-reports');
    expect(edc.allow).toContain('$JS.API.CONSUMER.CREATE.REDRIVE.edc-case-reports-redrive.>');
    expect(edc.allow).toContain('$JS.API.CONSUMER.CREATE.ADVISORIES.cohort-deadletters');
    expect(edc.allow.filter((s) => s.includes('project-management-'))).toEqual([]);
    expect(edc.deny).toContain('$JS.API.CONSUMER.CREATE.REPORTS.project-management-report-counts');
    // The legacy ephemeral create takes any name: nobody but admin gets it, everyone is denied it.
    expect(edc.deny).toContain('$JS.API.CONSUMER.CREATE.REPORTS');
    expect(allows('epro-api').filter((s) => s.includes('CONSUMER'))).toEqual([]);
  });

  it('let the CLI create consumers of its own under fresh names, never touching a durable', () => {
    const cli = perms.cli!.publish;
    expect(cli.allow).toContain('$JS.API.CONSUMER.CREATE.REPORTS.*');
    expect(cli.allow).toContain('$JS.API.CONSUMER.CREATE.REPORTS.*.>');
    expect(cli.allow.filter((s) => s.includes('DURABLE.CREATE'))).toEqual([]);
    for (const d of allDurables()) {
      expect(cli.deny).toContain(`$JS.API.CONSUMER.CREATE.${d.stream}.${d.name}`);
      if (d.name !== 'cohort-deadletters') {
        expect(cli.deny).toContain(`$JS.API.CONSUMER.MSG.NEXT.${d.stream}.${d.name}`);
      }
    }
    expect(cli.deny).toContain('$JS.API.CONSUMER.CREATE.REPORTS');
  });

  it('let each append only to its own streams', () => {
    expect(allows('epro-api')).toContain('reports.>');
    expect(allows('epro-api')).not.toContain('projects.>');
    expect(allows('project-management')).toContain('projects.>');
    expect(allows('project-management')).not.toContain('reports.>');
    expect(allows('edc').filter((s) => /^(reports|projects|redrive)\./.test(s))).toEqual([]);
    expect(allows('edc')).toContain('deadletters.>');
    expect(allows('cli')).toEqual(expect.arrayContaining(['deadletters.>', 'redrive.>']));
  });

  it('give the request ledger to epro-api alone, and FAILURES writes per own durable', () => {
    for (const user of natsUsers()) {
      const ledger = allows(user).filter((s) => s.includes('REQUESTS') && !s.includes('INFO'));
      expect(ledger.length > 0, user).toBe(user === 'epro-api' || user === 'admin');
    }
    expect(allows('edc')).toContain('$KV.FAILURES.edc-case-reports.>');
    expect(allows('edc')).toContain('$KV.FAILURES.edc-case-reports-redrive.>');
    expect(allows('edc').filter((s) => s.startsWith('$KV.FAILURES.project'))).toEqual([]);
  });

  it('let each user subscribe under its own inbox prefix only (and to what it follows)', () => {
    for (const user of natsUsers()) {
      const sub = perms[user]!.subscribe.allow;
      expect(sub[0], user).toBe(`_INBOX_${user}.>`);
      expect(sub.slice(1), user).toEqual(user === 'epro-api' ? ['projects.>'] : []);
    }
  });

  it('give a service added with a few lines its user, durables and share of the desk', () => {
    const monitoring: ServiceNeeds = {
      reads: [Streams.PROJECTS.name],
      durables: { compliance: { stream: Streams.REPORTS.name, name: 'monitoring-compliance' } },
    };
    const withMonitoring = natsPermissions(topo, { ...SERVICES, monitoring });
    const m = withMonitoring.monitoring!.publish;
    expect(m.allow).toContain('$JS.API.CONSUMER.MSG.NEXT.REPORTS.monitoring-compliance');
    expect(m.allow).toContain('$JS.API.CONSUMER.MSG.NEXT.REDRIVE.monitoring-compliance-redrive');
    expect(m.allow).toContain('$JS.API.CONSUMER.MSG.NEXT.ADVISORIES.cohort-deadletters');
    expect(m.allow).toContain('deadletters.>');
    expect(withMonitoring.edc!.publish.deny).toContain(
      '$JS.API.CONSUMER.CREATE.REPORTS.monitoring-compliance',
    );
    expect(withMonitoring.admin!.publish.allow).toContain(
      '$JS.API.CONSUMER.CREATE.REPORTS.monitoring-compliance',
    );
  });
});

describe('the server configuration', () => {
  const text = renderServerConfig({
    host: '127.0.0.1',
    port: 4222,
    storeDir: '/data/nats',
    users: [{ user: 'edc', passwordHash: '$2a$11$abc', permissions: perms.edc! }],
  });

  it('quotes every subject and hash, so no `$` is read as a variable', () => {
    expect(text).toContain('"$JS.API.INFO"');
    expect(text).toContain('"password": "$2a$11$abc"');
    expect(text).not.toMatch(/[:\s]\$[A-Za-z]/);
  });

  it('listens where asked, keeps JetStream where asked, and lets nobody in anonymously', () => {
    expect(text).toContain('listen: "127.0.0.1:4222"');
    expect(text).toContain('jetstream: {"store_dir":"/data/nats"}');
    expect(text).not.toContain('no_auth_user');
  });
});
