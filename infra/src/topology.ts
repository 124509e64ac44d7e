import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { jetstreamManager, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { Streams } from '@cohort/contracts';
import { z } from 'zod';
import { envInt, loadConfig } from './config.js';
import type { Connection } from './connection.js';
import { IncompatibleTopologyError } from './errors.js';
import { ensureConsumer, type ConsumerSpec } from './subscriber/consumer.js';

/**
 * Default dedup window for `Nats-Msg-Id`: two minutes covers a phone's retries through a burst
 * and the gap between reserving a request id and publishing it. Older retries are answered by
 * the request ledger, so the window need not be longer (the server holds every id in the window
 * in memory).
 */
export const DEFAULT_DUPLICATE_WINDOW_MS = 120_000;

/** Name of the KV bucket that maps a client's requestId to the event it became. */
export const REQUEST_LEDGER_BUCKET = 'REQUESTS';
/** KV bucket where subscribers record the last error of each failing message. */
export const FAILURES_BUCKET = 'FAILURES';
/** KV bucket where each forwarder keeps the source position it has forwarded up to. */
export const CHECKPOINTS_BUCKET = 'CHECKPOINTS';

export interface TopologyOptions {
  /** Dedup window of the event streams, in ms (`COHORT_DUPLICATE_WINDOW_MS`). */
  duplicateWindowMs?: number;
  /** Byte limit of `REPORTS`; -1 for none (`COHORT_REPORTS_MAX_BYTES`). At the limit, new writes are refused. */
  reportsMaxBytes?: number;
  /** Replicas per stream: 1 on one server, 3 in a cluster (`COHORT_REPLICAS`). */
  replicas?: number;
  /** Durable consumers of the subscriber services. */
  consumers?: ConsumerSpec[];
}

export interface Topology {
  streams: StreamSpec[];
  buckets: BucketSpec[];
  consumers: ConsumerSpec[];
}

export type StreamSpec = Partial<StreamConfig> & Pick<StreamConfig, 'name' | 'subjects'>;

export interface BucketSpec {
  name: string;
  description: string;
  replicas: number;
}

const ms = (n: number) => n * 1_000_000;

/** Audit-trail stream: file storage, kept by limits, refuses new writes when full, never edited. */
function auditStream(
  name: string,
  subjects: readonly string[],
  description: string,
  o: Required<Omit<TopologyOptions, 'consumers'>>,
  maxBytes = -1,
): StreamSpec {
  return {
    name,
    subjects: [...subjects],
    description,
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.New,
    deny_delete: true,
    deny_purge: true,
    allow_direct: true,
    duplicate_window: ms(o.duplicateWindowMs),
    max_bytes: maxBytes,
    max_msgs: -1,
    max_age: 0,
    num_replicas: o.replicas,
  };
}

/** The whole topology, as code. */
export function topology(opts: TopologyOptions = {}): Topology {
  const o: Required<Omit<TopologyOptions, 'consumers'>> = {
    duplicateWindowMs: opts.duplicateWindowMs ?? DEFAULT_DUPLICATE_WINDOW_MS,
    reportsMaxBytes: opts.reportsMaxBytes ?? -1,
    replicas: opts.replicas ?? 1,
  };
  return {
    streams: [
      auditStream(
        Streams.REPORTS.name,
        Streams.REPORTS.subjects,
        'ePRO submissions, one subject per patient diary',
        o,
        o.reportsMaxBytes,
      ),
      auditStream(
        Streams.PROJECTS.name,
        Streams.PROJECTS.subjects,
        'trial project aggregates, one subject per project',
        o,
      ),
      // Captures JetStream's own dead-letter advisories, even while no Cohort process runs.
      auditStream(
        Streams.ADVISORIES.name,
        Streams.ADVISORIES.subjects,
        'MAX_DELIVERIES and MSG_TERMINATED consumer advisories',
        o,
      ),
      auditStream(
        Streams.DEADLETTERS.name,
        Streams.DEADLETTERS.subjects,
        'dead letters: captured, redriven, discarded (who, when, why)',
        o,
      ),
      auditStream(
        Streams.MONITORING.name,
        Streams.MONITORING.subjects,
        "monitoring's decisions: safety alerts and their handling, non-compliance findings",
        o,
      ),
      auditStream(
        Streams.REDRIVE.name,
        Streams.REDRIVE.subjects,
        'dead letters sent back to the one consumer that failed them',
        o,
      ),
    ],
    consumers: opts.consumers ?? [],
    buckets: [
      {
        name: REQUEST_LEDGER_BUCKET,
        description: 'client requestId -> the event it became',
        replicas: o.replicas,
      },
      {
        name: FAILURES_BUCKET,
        description: '<consumer>.<stream seq> -> last error recorded by the subscriber runtime',
        replicas: o.replicas,
      },
      {
        name: CHECKPOINTS_BUCKET,
        description: '<forwarder> -> source position forwarded to JetStream up to',
        replicas: o.replicas,
      },
    ],
  };
}

/**
 * Topology settings: `COHORT_DUPLICATE_WINDOW_MS` (at least a second), `COHORT_REPORTS_MAX_BYTES`
 * (-1 for none), `COHORT_REPLICAS` (1 to 5, as JetStream allows).
 */
export const TopologyEnv = z.object({
  COHORT_DUPLICATE_WINDOW_MS: envInt(1_000),
  COHORT_REPORTS_MAX_BYTES: envInt(-1),
  COHORT_REPLICAS: envInt(1, 5),
});
export type TopologyEnv = z.infer<typeof TopologyEnv>;

/** Topology options from parsed configuration. */
export function topologyOptions(config: TopologyEnv): TopologyOptions {
  return {
    duplicateWindowMs: config.COHORT_DUPLICATE_WINDOW_MS,
    reportsMaxBytes: config.COHORT_REPORTS_MAX_BYTES,
    replicas: config.COHORT_REPLICAS,
  };
}

/** `topologyOptions` read straight from the environment (the CLI's commands). */
export function topologyOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): TopologyOptions {
  return topologyOptions(loadConfig(TopologyEnv, env));
}

// Fields the server cannot change on a live stream, or that Cohort never lets go of (an audit
// stream that allowed deletes or purges would no longer be an audit trail).
const IMMUTABLE: (keyof StreamConfig)[] = ['storage', 'retention'];
const NEVER_RELAX: (keyof StreamConfig)[] = ['deny_delete', 'deny_purge'];

export type ProvisionAction = { resource: string; action: 'created' | 'updated' | 'unchanged' };

/**
 * Creates what is missing and updates what may change in place. Idempotent: a second run
 * reports `unchanged`. Throws IncompatibleTopologyError, changing nothing for that stream, when
 * a live stream differs in a field that cannot change.
 */
export async function provision(
  conn: Connection,
  jsm: JetStreamManager,
  topo: Topology,
): Promise<ProvisionAction[]> {
  const actions: ProvisionAction[] = [];
  for (const spec of topo.streams) {
    actions.push({ resource: `stream ${spec.name}`, action: await provisionStream(jsm, spec) });
  }
  const kvm = new Kvm(conn.nc);
  for (const b of topo.buckets) {
    const existed = await streamExists(jsm, `KV_${b.name}`);
    if (!existed) {
      await kvm.create(b.name, {
        description: b.description,
        history: 1,
        storage: StorageType.File,
        replicas: b.replicas,
      });
    }
    actions.push({ resource: `bucket ${b.name}`, action: existed ? 'unchanged' : 'created' });
  }
  for (const c of topo.consumers) {
    actions.push({
      resource: `consumer ${c.stream}/${c.name}`,
      action: await ensureConsumer(jsm, c),
    });
  }
  return actions;
}

export async function streamExists(jsm: JetStreamManager, name: string): Promise<boolean> {
  try {
    await jsm.streams.info(name);
    return true;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}

function isNotFound(e: unknown): boolean {
  return e instanceof JetStreamApiError && e.code === JetStreamApiCodes.StreamNotFound;
}

async function provisionStream(
  jsm: JetStreamManager,
  spec: StreamSpec,
): Promise<ProvisionAction['action']> {
  let live: StreamConfig;
  try {
    live = (await jsm.streams.info(spec.name)).config;
  } catch (e) {
    if (!isNotFound(e)) throw e;
    await jsm.streams.add(spec);
    return 'created';
  }
  const differences = [...IMMUTABLE, ...NEVER_RELAX]
    .filter((f) => spec[f] !== undefined && live[f] !== spec[f])
    .filter((f) => !(NEVER_RELAX.includes(f) && spec[f] === true && live[f] === false))
    .map((f) => ({ field: f, live: live[f], wanted: spec[f] }));
  if (differences.length > 0) {
    throw new IncompatibleTopologyError(`stream ${spec.name}`, differences);
  }
  const changed = (Object.keys(spec) as (keyof StreamSpec)[]).some(
    (k) => JSON.stringify(live[k]) !== JSON.stringify(spec[k]),
  );
  if (!changed) return 'unchanged';
  await jsm.streams.update(spec.name, { ...spec });
  return 'updated';
}

/** Ready while `stream` exists (unknown, not ready, while NATS is unreachable). */
export function streamReady(conn: Connection, stream: string): () => Promise<string | null> {
  return async () => {
    if (!conn.isConnected()) return 'unknown while NATS is unreachable';
    await (await jetstreamManager(conn.nc)).streams.info(stream);
    return null;
  };
}
