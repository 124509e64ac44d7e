import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reportSubject, Streams } from '@cohort/contracts';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Connection } from '../connection.js';
import { reportSubmitted, reportSubmittedV1 } from '../testing/events.js';
import { NatsServer } from '../testing/nats-server.js';
import { provision, topology } from '../topology.js';
import { replayRange } from './range.js';
import { REPLAY_PULL_BATCH } from './reader.js';
import { replay, type ReplayFormat } from './replay.js';
import { Sink } from './sink.js';

/**
 * Enough reports for many batches: more than the batches in flight at once, so every batch and
 * output buffer is reused, and a CSV far larger than one read of its spill file.
 */
const STORED = 7 * REPLAY_PULL_BATCH + 321;
/** The text answer every report carries: large enough that lines differ in length. */
const note = (i: number) => `entry ${i}: ${'x'.repeat(i % 400)}`;

let nats: NatsServer;
let conn: Connection;
let dir: string;

async function run(format: ReplayFormat): Promise<string> {
  const out = join(dir, `${format}.out`);
  const options = { stream: Streams.REPORTS.name, format, range: replayRange({}) };
  await replay(conn.nc, options, () => Sink.open(out));
  return readFile(out, 'utf8');
}

beforeAll(async () => {
  nats = await NatsServer.start();
  dir = await mkdtemp(join(tmpdir(), 'cohort-replay-batches-'));
  conn = await connect({ servers: nats.url, name: 'replay-batches' });
  await provision(conn, await jetstreamManager(conn.nc), topology());
  const js = jetstream(conn.nc);
  const publishes: Promise<unknown>[] = [];
  for (let i = 0; i < STORED; i++) {
    const over = { trialId: 'T', patientId: `P-${i % 50}` };
    const e = i % 2 ? reportSubmittedV1(over) : reportSubmitted({ ...over, siteId: 'S-1' });
    const answers = [
      { itemId: 'pain', value: i },
      { itemId: 'note', value: note(i) },
      // An item only the last report answers: every row before it gets an empty cell.
      ...(i === STORED - 1 ? [{ itemId: 'late', value: 'yes' }] : []),
    ];
    const body = JSON.stringify({ ...e, data: { ...e.data, answers } });
    publishes.push(js.publish(reportSubject(over.trialId, over.patientId), body));
    if (publishes.length >= 500) await Promise.all(publishes.splice(0));
  }
  await Promise.all(publishes);
});

afterAll(async () => {
  await conn?.drain();
  await nats?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('cohort replay over many batches', () => {
  it('writes every message once, in order, each line its own event (JSONL)', async () => {
    const lines = (await run('jsonl')).trimEnd().split('\n');
    expect(lines).toHaveLength(STORED);
    lines.forEach((line, i) => {
      const r = JSON.parse(line) as {
        seq: number;
        event: { version: number; data: { answers: { value: unknown }[] } };
      };
      expect(r.seq).toBe(i + 1);
      expect(r.event.version).toBe(2);
      const late = i === STORED - 1 ? ['yes'] : [];
      expect(r.event.data.answers.map((a) => a.value)).toEqual([i, note(i), ...late]);
    });
  });

  it('writes every row once, in order, padded to the columns found after it (CSV)', async () => {
    const [header, ...rows] = (await run('csv')).trimEnd().split('\n');
    const columns = header!.split(',');
    expect(columns.slice(-3)).toEqual(['answer.pain', 'answer.note', 'answer.late']);
    expect(rows).toHaveLength(STORED);
    rows.forEach((row, i) => {
      // No cell of these rows holds a comma: cells split on every one.
      const cells = row.split(',');
      expect(cells).toHaveLength(columns.length);
      expect(cells[0]).toBe(String(i + 1));
      expect(cells.slice(-3)).toEqual([String(i), note(i), i === STORED - 1 ? 'yes' : '']);
    });
  });
});
