import { Streams } from '@cohort/contracts';
import { jetstreamManager } from '@nats-io/jetstream';
import type { Connection } from '../connection.js';
import { NotConnectedError } from '../errors.js';

/** One durable consumer's progress. */
export interface ConsumerHealth {
  stream: string;
  name: string;
  /** Messages not yet applied: not yet delivered, or delivered and not yet acknowledged. */
  lag: number;
  ackPending: number;
  /** Messages delivered more than once and not yet acknowledged: failures being retried. */
  redelivered: number;
}

export interface StreamHealth {
  name: string;
  messages: number;
  bytes: number;
  lastSeq: number;
}

/** Every Cohort stream's size and every durable consumer's lag, read from the server now. */
export async function pipelineHealth(
  conn: Connection,
): Promise<{ consumers: ConsumerHealth[]; streams: StreamHealth[] }> {
  if (!conn.isConnected()) throw new NotConnectedError();
  const jsm = await jetstreamManager(conn.nc);
  const consumers: ConsumerHealth[] = [];
  const streams: StreamHealth[] = [];
  for (const { name } of Object.values(Streams)) {
    const info = await jsm.streams.info(name).catch(() => null);
    if (!info) continue;
    streams.push({
      name,
      messages: info.state.messages,
      bytes: info.state.bytes,
      lastSeq: info.state.last_seq,
    });
    for await (const c of jsm.consumers.list(name)) {
      // A consumer removed while the server pages through the list comes as null.
      if (!c?.config.durable_name) continue; // readers' ordered consumers come and go
      consumers.push({
        stream: name,
        name: c.name,
        lag: c.num_pending + c.num_ack_pending,
        ackPending: c.num_ack_pending,
        redelivered: c.num_redelivered,
      });
    }
  }
  consumers.sort((a, b) => a.name.localeCompare(b.name));
  return { consumers, streams };
}
