import { Streams } from '@cohort/contracts';
import { inboxPrefixOf } from '../connection.js';
import type { ConsumerSpec } from '../subscriber/consumer.js';
import type { Topology } from '../topology.js';
import { FAILURES_BUCKET } from '../topology.js';
import {
  ADMIN_USER,
  allDurables,
  CAPTURE_DURABLE,
  CLI_USER,
  isSubscriber,
  ownDurables,
  SERVICES,
  type ServiceNeeds,
} from './services.js';

/** Subjects a user may (allow) and may not (deny, which wins) use. */
export interface SubjectPermissions {
  allow: string[];
  deny: string[];
}

/** What nats-server lets one user publish (including JetStream API requests) and subscribe to. */
export interface UserPermissions {
  publish: SubjectPermissions;
  subscribe: SubjectPermissions;
}

const API = '$JS.API';

/**
 * Refused to every user, admin included, whatever else it may do: a stream is never deleted,
 * purged or edited (the audit trail), and a durable is never deleted (its name is its position).
 */
export const FORBIDDEN_TO_ALL = [
  `${API}.STREAM.DELETE.>`,
  `${API}.STREAM.PURGE.>`,
  `${API}.STREAM.MSG.DELETE.>`,
  `${API}.CONSUMER.DELETE.>`,
];

const kvStream = (bucket: string) => `KV_${bucket}`;

/** Reading a stream with no consumer: its info, and its messages by sequence or subject. */
function reading(stream: string): string[] {
  return [`${API}.STREAM.INFO.${stream}`, `${API}.STREAM.MSG.GET.${stream}`];
}

/**
 * Pulling from one durable and settling what it delivers. Acks go to the reply subject of each
 * message: `$JS.ACK.<stream>.<durable>.…` on nats-server 2.9, and the form with domain and
 * account hash in front (`$JS.ACK.<domain>.<hash>.<stream>.<durable>.…`) of newer servers.
 */
function pulling(d: ConsumerSpec): string[] {
  return [
    `${API}.CONSUMER.INFO.${d.stream}.${d.name}`,
    `${API}.CONSUMER.MSG.NEXT.${d.stream}.${d.name}`,
    `$JS.ACK.${d.stream}.${d.name}.>`,
    `$JS.ACK.*.*.${d.stream}.${d.name}.>`,
  ];
}

/**
 * Creating or updating one durable, by name. On nats-server 2.9 a create of an existing name is
 * an update, through `CONSUMER.CREATE.<stream>.<name>[.<filter>]` or the older
 * `CONSUMER.DURABLE.CREATE.<stream>.<name>`; the server refuses a body naming another consumer
 * or another filter than the subject does.
 */
function managing(d: ConsumerSpec): string[] {
  return [
    `${API}.CONSUMER.CREATE.${d.stream}.${d.name}`,
    `${API}.CONSUMER.CREATE.${d.stream}.${d.name}.>`,
    `${API}.CONSUMER.DURABLE.CREATE.${d.stream}.${d.name}`,
  ];
}

/**
 * Replaying a stream (`cohort replay`) through an ordered consumer: creating one under a fresh
 * name, with or without a filter (`CONSUMER.CREATE.<stream>.<name>[.<filter>]`), and pulling from
 * it. Every durable of the topology stays denied by name, so this never reaches one of them.
 */
function replaying(stream: string): string[] {
  return [
    `${API}.CONSUMER.CREATE.${stream}.*`,
    `${API}.CONSUMER.CREATE.${stream}.*.>`,
    `${API}.CONSUMER.MSG.NEXT.${stream}.*`,
  ];
}

/** Every stream of the topology, the buckets' streams included. */
function allStreams(topo: Topology): string[] {
  return [...topo.streams.map((s) => s.name), ...topo.buckets.map((b) => kvStream(b.name))];
}

function subjectsOf(topo: Topology, stream: string): string[] {
  const spec = topo.streams.find((s) => s.name === stream);
  if (!spec) throw new Error(`no stream ${stream} in the topology`);
  return [...spec.subjects];
}

/**
 * What nobody but admin may do to consumers: create or update a durable it does not own (the
 * legacy ephemeral create `CONSUMER.CREATE.<stream>` too, which on 2.9 takes a `name` and so
 * rewrites the durable of that name, even turning it ephemeral).
 */
function foreignConsumerDenies(topo: Topology, own: ConsumerSpec[], all: ConsumerSpec[]): string[] {
  const mine = new Set(own.map((d) => `${d.stream}.${d.name}`));
  return [
    ...topo.streams.map((s) => `${API}.CONSUMER.CREATE.${s.name}`),
    ...all.filter((d) => !mine.has(`${d.stream}.${d.name}`)).flatMap(managing),
  ];
}

function unique(subjects: string[]): string[] {
  return [...new Set(subjects)];
}

function permissions(user: string, publish: string[], deny: string[], subscribe: string[] = []) {
  return {
    publish: { allow: unique([`${API}.INFO`, ...publish]), deny: unique(deny) },
    subscribe: { allow: unique([`${inboxPrefixOf(user)}.>`, ...subscribe]), deny: [] },
  };
}

/** A service's permissions: what it declares in SERVICES, and a subscriber's share of the desk. */
function servicePermissions(
  user: string,
  needs: ServiceNeeds,
  topo: Topology,
  all: ConsumerSpec[],
): UserPermissions {
  const own = isSubscriber(needs) ? [...ownDurables(needs), CAPTURE_DURABLE] : [];
  const publish = [
    // Verifying at start that the topology it needs is there.
    ...allStreams(topo).map((s) => `${API}.STREAM.INFO.${s}`),
    ...(needs.appends ?? []).flatMap((s) => subjectsOf(topo, s)),
    ...(needs.reads ?? []).flatMap(reading),
    ...(needs.buckets ?? []).flatMap((b) => [`$KV.${b}.>`, ...reading(kvStream(b))]),
    ...own.flatMap((d) => [...pulling(d), ...managing(d)]),
    // Read only: the state of each stream and the progress of each consumer on it.
    ...(needs.observesPipeline
      ? topo.streams.flatMap((s) => [
          `${API}.CONSUMER.LIST.${s.name}`,
          `${API}.CONSUMER.INFO.${s.name}.*`,
        ])
      : []),
  ];
  if (own.length > 0) {
    publish.push(
      // The failures of its own durables, by key `<durable>.<seq>`.
      ...ownDurables(needs).map((d) => `$KV.${FAILURES_BUCKET}.${d.name}.>`),
      // The capture: any failure recorded, the failed original in its stream, the dead letters.
      ...reading(kvStream(FAILURES_BUCKET)),
      ...topo.streams.flatMap((s) => reading(s.name)),
      ...subjectsOf(topo, Streams.DEADLETTERS.name),
    );
  }
  const subscribe = (needs.follows ?? []).flatMap((s) => subjectsOf(topo, s));
  return permissions(
    user,
    publish,
    [...FORBIDDEN_TO_ALL, ...foreignConsumerDenies(topo, own, all)],
    subscribe,
  );
}

/**
 * The CLI's (`cohort dlq`, `cohort replay`): read every stream (the desk captures what is
 * pending, reading each failed original), pull from the capture durable, append to DEADLETTERS,
 * send redrives, replay any stream through consumers of its own. It may create, update or pull
 * from no durable of the topology but the capture's pulls.
 *
 * Subjects cannot tell an ephemeral consumer from a durable: the body of a create under a fresh
 * name decides, and nats-server takes a `durable_name` there. What the permissions do hold: no
 * existing durable is touched, the legacy durable and ephemeral creates are refused, and nothing
 * the CLI creates can be deleted by it; replay asks only for ordered consumers, which the server
 * removes after their inactive threshold.
 */
function cliPermissions(topo: Topology, all: ConsumerSpec[]): UserPermissions {
  const publish = [
    ...allStreams(topo).map((s) => `${API}.STREAM.INFO.${s}`),
    ...topo.streams.flatMap((s) => [...reading(s.name), ...replaying(s.name)]),
    ...reading(kvStream(FAILURES_BUCKET)),
    ...pulling(CAPTURE_DURABLE),
    ...subjectsOf(topo, Streams.DEADLETTERS.name),
    ...subjectsOf(topo, Streams.REDRIVE.name),
  ];
  const othersPulls = all
    .filter((d) => d.name !== CAPTURE_DURABLE.name)
    .map((d) => `${API}.CONSUMER.MSG.NEXT.${d.stream}.${d.name}`);
  return permissions(CLI_USER, publish, [
    ...FORBIDDEN_TO_ALL,
    ...foreignConsumerDenies(topo, [], all),
    ...othersPulls,
  ]);
}

/** Provisioning's: create and update the topology's streams, buckets and durables; nothing else. */
function adminPermissions(topo: Topology, all: ConsumerSpec[]): UserPermissions {
  const publish = [
    ...allStreams(topo).flatMap((s) => [
      `${API}.STREAM.INFO.${s}`,
      `${API}.STREAM.CREATE.${s}`,
      `${API}.STREAM.UPDATE.${s}`,
    ]),
    ...all.flatMap((d) => [`${API}.CONSUMER.INFO.${d.stream}.${d.name}`, ...managing(d)]),
  ];
  return permissions(ADMIN_USER, publish, FORBIDDEN_TO_ALL);
}

/**
 * Each NATS user's permissions, derived from the topology and the services' declarations
 * (SERVICES): `admin` provisions, `cli` runs the dead-letter desk, and each service (a user named
 * as it) does what it declares. Every user subscribes only under its own inbox prefix (and to
 * what it follows); nobody deletes, purges or edits a stream, or deletes a consumer; a service
 * creates and updates only its own durables (and the shared capture durable).
 */
export function natsPermissions(
  topo: Topology,
  services: Record<string, ServiceNeeds> = SERVICES,
): Record<string, UserPermissions> {
  const all = allDurables({}, services);
  return {
    [ADMIN_USER]: adminPermissions(topo, all),
    [CLI_USER]: cliPermissions(topo, all),
    ...Object.fromEntries(
      Object.entries(services).map(([name, needs]) => [
        name,
        servicePermissions(name, needs, topo, all),
      ]),
    ),
  };
}
