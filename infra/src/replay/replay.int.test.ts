import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { reportSubject, Streams } from '@cohort/contracts';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allDurables } from '../access/services.js';
import { connect, type Connection } from '../connection.js';
import { reportSubmitted, reportSubmittedV1 } from '../testing/events.js';
import { trialsIn } from '../testing/projects.js';
import { NatsServer } from '../testing/nats-server.js';
import { SecuredNats } from '../testing/secured-nats.js';
import { provision, topology } from '../topology.js';
import { StreamNotFound } from './errors.js';
import { replayRange, type RangeFlags } from './range.js';
import { REPLAY_INACTIVE_THRESHOLD_MS } from './reader.js';
import type { ReplayRecord } from './record.js';
import { replay, type ReplayOptions } from './replay.js';
import { Sink } from './sink.js';
import { parseStreamTime } from './stream-time.js';

const REPORTS = Streams.REPORTS.name;
const PROJECTS = Streams.PROJECTS.name;
/** Reports stored: every third at v1, as before v2 existed; two trials, four diaries. */
const STORED = 40;
/** Long enough for the server to remove a consumer nobody pulls from, under load. */
const CONSUMER_GONE_TIMEOUT_MS = 60_000 + REPLAY_INACTIVE_THRESHOLD_MS;

let nats: SecuredNats;
let admin: Connection;
let cli: Connection;
let monitoring: Connection;
let jsm: JetStreamManager;
let dir: string;
let all: ReplayRecord[];

const as = (user: string) =>
  connect({ servers: nats.url, name: `replay-${user}`, ...nats.credentials(user) });

/** Replays as the CLI's NATS user to a file; the lines parsed (JSONL) or as they are (CSV). */
async function run(
  over: Partial<Omit<ReplayOptions, 'range'>> & { range?: RangeFlags },
  conn: Connection = cli,
): Promise<string> {
  const out = join(dir, `${crypto.randomUUID()}.out`);
  const { range, ...rest } = over;
  const options = { stream: REPORTS, format: 'jsonl' as const, ...rest };
  await replay(conn.nc, { ...options, range: replayRange(range ?? {}) }, () => Sink.open(out));
  return readFile(out, 'utf8');
}

const records = async (...a: Parameters<typeof run>): Promise<ReplayRecord[]> =>
  (await run(...a))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as ReplayRecord);

const seqs = (rs: ReplayRecord[]) => rs.map((r) => r.seq);
const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);
const nanosOf = (r: ReplayRecord) => parseStreamTime(r.time)!;

beforeAll(async () => {
  nats = await SecuredNats.start();
  dir = await mkdtemp(join(tmpdir(), 'cohort-replay-'));
  admin = await as('admin');
  jsm = await jetstreamManager(admin.nc);
  await provision(admin, jsm, topology({ consumers: allDurables() }));
  const api = await as('epro-api');
  const js = jetstream(api.nc);
  for (let i = 0; i < STORED; i++) {
    const over = { trialId: i % 2 ? 'RB' : 'RA', patientId: `P-${i % 4}` };
    const e = i % 3 === 0 ? reportSubmittedV1(over) : reportSubmitted({ ...over, siteId: 'S-1' });
    const answers = [
      { itemId: 'pain', value: i, ...(i % 3 === 0 ? {} : { unit: 'nrs' }) },
      ...(i === 7 ? [{ itemId: 'note', value: 'slept, "badly"' }] : []),
    ];
    await js.publish(
      reportSubject(over.trialId, over.patientId),
      JSON.stringify({ ...e, data: { ...e.data, answers } }),
    );
  }
  await api.drain();
  const pm = await as('project-management');
  await trialsIn(pm, ['RA', 'RC']);
  await pm.drain();
  cli = await as('cli');
  monitoring = await as('monitoring');
  all = await records({});
});

afterAll(async () => {
  await cli?.drain();
  await monitoring?.drain();
  await admin?.drain();
  await nats?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('cohort replay, as the CLI NATS user', () => {
  it('writes every message of the stream in order, each upcast to the latest version', async () => {
    const info = await jsm.streams.info(REPORTS);
    expect(all).toHaveLength(info.state.messages);
    expect(seqs(all)).toEqual(range(1, STORED));
    for (const r of all) {
      const e = r.event as { type: string; version: number; data: Record<string, unknown> };
      expect([e.type, e.version]).toEqual(['ReportSubmitted', 2]);
      expect(e.data).toHaveProperty('device', null);
      expect(e.data.siteId).toBe(r.seq % 3 === 1 ? null : 'S-1');
    }
    const stored = await (await jetstreamManager(cli.nc)).streams.getMessage(REPORTS, { seq: 12 });
    expect(all[11]!.subject).toBe(stored!.subject);
    expect(nanosOf(all[11]!)).toBe(parseStreamTime(stored!.timestamp));
  });

  it('starts and ends exactly at the sequences given, both included', async () => {
    expect(seqs(await records({ range: { fromSeq: '5', toSeq: '12' } }))).toEqual(range(5, 12));
    expect(seqs(await records({ range: { fromSeq: '7', toSeq: '7' } }))).toEqual([7]);
    expect(seqs(await records({ range: { fromSeq: '39' } }))).toEqual([39, 40]);
    expect(seqs(await records({ range: { toSeq: '3' } }))).toEqual([1, 2, 3]);
    expect(seqs(await records({ range: { toSeq: '1000' } }))).toEqual(range(1, STORED));
    expect(await records({ range: { fromSeq: '41' } })).toEqual([]);
  });

  it('starts and ends exactly at the times given, both included, to the nanosecond', async () => {
    const [t5, t12] = [all[4]!, all[11]!];
    const between = (from: bigint, to: bigint) =>
      seqs(all.filter((r) => nanosOf(r) >= from && nanosOf(r) <= to));
    const got = await records({ range: { since: t5.time, until: t12.time } });
    expect(seqs(got)).toEqual(between(nanosOf(t5), nanosOf(t12)));
    expect(seqs(got)).toEqual(expect.arrayContaining([5, 12]));
    const after5 = `${t5.time.slice(0, 20)}${String((nanosOf(t5) % 1_000_000_000n) + 1n).padStart(9, '0')}Z`;
    const before12 = `${t12.time.slice(0, 20)}${String((nanosOf(t12) % 1_000_000_000n) - 1n).padStart(9, '0')}Z`;
    const inside = await records({ range: { since: after5, until: before12 } });
    expect(seqs(inside)).toEqual(between(nanosOf(t5) + 1n, nanosOf(t12) - 1n));
    expect(seqs(inside)).not.toContain(5);
    expect(seqs(inside)).not.toContain(12);
  });

  it('keeps what the subject, type and trial filters ask for, and nothing else', async () => {
    const ra = await records({ subject: 'reports.RA.>' });
    expect(seqs(ra)).toEqual(seqs(all.filter((r) => r.subject.startsWith('reports.RA.'))));
    expect(ra).toHaveLength(STORED / 2);
    expect(await records({ trial: 'RA' })).toEqual(ra);
    expect(await records({ subject: 'reports.RA.P-0', trial: 'RB' })).toEqual([]);

    const created = await records({ stream: PROJECTS, types: ['ProjectCreated'] });
    expect(created.map((r) => (r.event as { data: { projectId: string } }).data.projectId)).toEqual(
      ['RA', 'RC'],
    );
    const rc = await records({ stream: PROJECTS, trial: 'RC' });
    expect(rc.length).toBeGreaterThan(1);
    expect(new Set(rc.map((r) => r.subject))).toEqual(new Set(['projects.RC']));
    const both = await records({
      stream: PROJECTS,
      types: ['ProjectCreated', 'ProjectStatusChanged'],
    });
    expect(both).toEqual(await records({ stream: PROJECTS }));
  });

  it('writes CSV with one column per answer item, and a row per message, in one pass', async () => {
    const [header, ...rows] = (await run({ format: 'csv', range: { toSeq: '10' } }))
      .trimEnd()
      .split('\n');
    const columns = header!.split(',');
    expect(columns.slice(0, 3)).toEqual(['seq', 'subject', 'time']);
    // Answer items in the order they first appear.
    expect(columns.slice(-5)).toEqual([
      'data',
      'invalid',
      'answer.pain',
      'answer.pain.unit',
      'answer.note',
    ]);
    expect(rows).toHaveLength(10);
    const cell = (row: string, name: string) => row.split(',')[columns.indexOf(name)];
    expect(cell(rows[0]!, 'answer.pain')).toBe('0');
    expect(cell(rows[0]!, 'answer.pain.unit')).toBe('');
    expect(cell(rows[0]!, 'version')).toBe('2');
    expect(cell(rows[1]!, 'answer.pain.unit')).toBe('nrs');
    expect(cell(rows[1]!, 'siteId')).toBe('S-1');
    // A row written before a column appeared has an empty cell for it.
    expect(rows[0]!.split(',')).toHaveLength(columns.length);
    expect(cell(rows[0]!, 'answer.note')).toBe('');
    expect(rows[7]!.endsWith(',7,nrs,"slept, ""badly"""')).toBe(true);
    expect(rows.map((r) => r.split(',')[0])).toEqual(range(1, 10).map(String));
  });

  it('says the stream does not exist where the user may ask', async () => {
    // The CLI user may not even ask about a stream outside the topology: an open server may.
    await using open = await NatsServer.start();
    const conn = await connect({ servers: open.url, name: 'replay-open' });
    try {
      await expect(run({ stream: REPORTS }, conn)).rejects.toBeInstanceOf(StreamNotFound);
    } finally {
      await conn.drain();
    }
  });

  it(
    'leaves no consumer behind when the reader dies mid-replay',
    async () => {
      const observer = await jetstreamManager(monitoring.nc);
      const ours = async () => {
        const names: string[] = [];
        for await (const c of observer.consumers.list(REPORTS)) {
          // A consumer removed while the server pages through the list comes as null.
          if (c?.name.startsWith('cohort_replay_')) names.push(c.name);
        }
        return names;
      };
      const gone = async () => {
        const deadline = Date.now() + CONSUMER_GONE_TIMEOUT_MS;
        while ((await ours()).length > 0 && Date.now() < deadline) await sleep(500);
        return ours();
      };
      // The consumers of the replays above go as this one should.
      expect(await gone()).toEqual([]);
      const dying = await as('cli');
      const replaying = run({ ratePerSecond: 10 }, dying).catch(() => undefined);
      let seen: string[] = [];
      for (let i = 0; i < 100 && seen.length === 0; i++, await sleep(100)) seen = await ours();
      expect(seen).toHaveLength(1);
      const ci = await observer.consumers.info(REPORTS, seen[0]!);
      expect(ci.config.durable_name).toBeUndefined();
      expect(ci.config.inactive_threshold).toBe(REPLAY_INACTIVE_THRESHOLD_MS * 1_000_000);
      // Gone without a goodbye: the client stops, nothing deletes the consumer.
      await dying.nc.close();
      expect(await gone()).toEqual([]);
      await replaying;
    },
    2 * CONSUMER_GONE_TIMEOUT_MS + 10_000,
  );
});
