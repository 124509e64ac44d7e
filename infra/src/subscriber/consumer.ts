import { AckPolicy, DeliverPolicy, JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { ConsumerConfig, JetStreamManager } from '@nats-io/jetstream';
import { IncompatibleTopologyError } from '../errors.js';

/** Deliveries before a message is dead: enough to ride out a database restart with backoff. */
export const DEFAULT_MAX_DELIVER = 10;
/** Time a delivered message may stay unacked before redelivery; working() extends it. */
export const DEFAULT_ACK_WAIT_MS = 30_000;
/** Messages per transaction: large enough to amortize a commit, small enough to redo quickly. */
export const DEFAULT_BATCH_SIZE = 500;
/** Unacked messages per consumer: bounds each subscriber's memory whatever the backlog. */
export const DEFAULT_MAX_ACK_PENDING = 2_000;

/** A durable pull consumer, named `<service>-<projection>` and never renamed. */
export interface ConsumerSpec {
  stream: string;
  /** The durable name: the consumer group shared by every instance of the service. */
  name: string;
  /** One subject filter (servers before 2.10 take one); all of the stream when absent. */
  filterSubject?: string;
  maxDeliver?: number;
  ackWaitMs?: number;
  maxAckPending?: number;
}

const ms = (n: number) => n * 1_000_000;

export function consumerConfig(
  spec: ConsumerSpec,
): Partial<ConsumerConfig> & { durable_name: string } {
  return {
    durable_name: spec.name,
    description: `Cohort durable ${spec.name}`,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ...(spec.filterSubject ? { filter_subject: spec.filterSubject } : {}),
    max_deliver: spec.maxDeliver ?? DEFAULT_MAX_DELIVER,
    ack_wait: ms(spec.ackWaitMs ?? DEFAULT_ACK_WAIT_MS),
    max_ack_pending: spec.maxAckPending ?? DEFAULT_MAX_ACK_PENDING,
  };
}

/**
 * Creates the durable or updates what may change in place (max deliver, ack wait, max ack
 * pending). A different filter would silently change what the projection sees: refused.
 */
export async function ensureConsumer(
  jsm: JetStreamManager,
  spec: ConsumerSpec,
): Promise<'created' | 'updated' | 'unchanged'> {
  const wanted = consumerConfig(spec);
  let live: ConsumerConfig;
  try {
    live = (await jsm.consumers.info(spec.stream, spec.name)).config;
  } catch (e) {
    if (!(e instanceof JetStreamApiError && e.code === JetStreamApiCodes.ConsumerNotFound)) throw e;
    await jsm.consumers.add(spec.stream, wanted);
    return 'created';
  }
  const liveFilter = live.filter_subject ?? '';
  const wantedFilter = wanted.filter_subject ?? '';
  if (liveFilter !== wantedFilter || live.ack_policy !== wanted.ack_policy) {
    throw new IncompatibleTopologyError(`consumer ${spec.stream}/${spec.name}`, [
      ...(liveFilter !== wantedFilter
        ? [{ field: 'filter_subject', live: liveFilter, wanted: wantedFilter }]
        : []),
      ...(live.ack_policy !== wanted.ack_policy
        ? [{ field: 'ack_policy', live: live.ack_policy, wanted: wanted.ack_policy }]
        : []),
    ]);
  }
  const mutable = ['max_deliver', 'ack_wait', 'max_ack_pending', 'description'] as const;
  if (mutable.every((k) => live[k] === wanted[k])) return 'unchanged';
  await jsm.consumers.update(spec.stream, spec.name, {
    max_deliver: wanted.max_deliver,
    ack_wait: wanted.ack_wait,
    max_ack_pending: wanted.max_ack_pending,
    description: wanted.description,
  });
  return 'updated';
}
