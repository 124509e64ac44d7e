// The raw reader of bench:replay, as a process of its own: an ordered consumer over the whole
// stream, counting what it is given and doing nothing else. It imports only the NATS client, so
// its start-up is the least any reader pays. Usage: node raw-read.js <nats-url> <stream>
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

/** The same pull size and expiry as cohort replay's, so only what is done per message differs. */
const PULL = { max_messages: 1_000, expires: 5_000 };

const [url, stream] = process.argv.slice(2);
const nc = await connect({ servers: url, noAsyncTraces: true });
const last = (await (await jetstreamManager(nc)).streams.info(stream!)).state.last_seq;
const consumer = await jetstream(nc).consumers.get(stream!, { inactive_threshold: 5_000 });
let bytes = 0;
// Pulled as cohort replay pulls: a batch at a time, the next asked for once this one is read.
for (let seq = 0; seq < last;) {
  for await (const m of await consumer.fetch(PULL)) {
    bytes += m.data.length;
    seq = m.seq;
    if (seq >= last) break;
  }
}
await nc.drain();
process.stdout.write(`${bytes}\n`);
