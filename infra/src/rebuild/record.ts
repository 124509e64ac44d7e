import type { Actor } from '@cohort/contracts';
import type { Migration, Sql, SqlStore } from '../store/sql-store.js';

/**
 * One row per projection ever rebuilt, in the live schema: who started it and why, its lease,
 * its progress (the last stream sequence applied to the shadow), and how it ended.
 */
export const REBUILD_MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'rebuilds',
    sql: `CREATE TABLE cohort_rebuilds (
      consumer text COLLATE "C" PRIMARY KEY,
      status text NOT NULL,
      owner text NOT NULL,
      heartbeat_at timestamptz NOT NULL,
      started_at timestamptz NOT NULL,
      started_by jsonb NOT NULL,
      reason text NOT NULL,
      on_failure text NOT NULL,
      shadow_schema text NOT NULL,
      target_seq bigint NOT NULL DEFAULT 0,
      applied_seq bigint NOT NULL DEFAULT 0,
      applied bigint NOT NULL DEFAULT 0,
      skipped bigint NOT NULL DEFAULT 0,
      dead_lettered bigint NOT NULL DEFAULT 0,
      failed_seq bigint,
      error text,
      effects_merged bigint,
      finished_at timestamptz
    )`,
  },
];

/** The migration namespace of REBUILD_MIGRATIONS. */
export const REBUILD_NAMESPACE = 'cohort-rebuilds';

/**
 * How long a rebuild holds its projection without a heartbeat: past it, the rebuild is taken
 * to be gone (its process died) and may be started again, resuming where it was.
 */
export const REBUILD_LEASE_MS = 30_000;
/** How often a running rebuild renews its lease: several times within one lease. */
export const REBUILD_HEARTBEAT_MS = 5_000;

export type OnFailure = 'stop' | 'dead-letter';

/**
 * `running` while its lease is renewed; `interrupted` when it stopped (or its process died)
 * before the swap; `failed` when an event could not be applied; `swapped` when done.
 */
export type RebuildStatus = 'running' | 'interrupted' | 'failed' | 'swapped';

export interface RebuildRecord {
  consumer: string;
  status: RebuildStatus;
  owner: string;
  heartbeatAt: string;
  startedAt: string;
  startedBy: Actor;
  reason: string;
  onFailure: OnFailure;
  shadowSchema: string;
  /** The last stream sequence when it (re)started: what it had to read at least. */
  targetSeq: number;
  /** The last stream sequence applied to the shadow (or skipped, or dead-lettered). */
  appliedSeq: number;
  applied: number;
  skipped: number;
  deadLettered: number;
  /** The stream sequence of the event it could not apply. */
  failedSeq: number | null;
  error: string | null;
  /** Effects the rebuild queued that were not already in the live outbox. */
  effectsMerged: number | null;
  finishedAt: string | null;
}

interface Row {
  consumer: string;
  status: string;
  owner: string;
  heartbeat_at: Date | string;
  started_at: Date | string;
  started_by: Actor;
  reason: string;
  on_failure: string;
  shadow_schema: string;
  target_seq: string | number;
  applied_seq: string | number;
  applied: string | number;
  skipped: string | number;
  dead_lettered: string | number;
  failed_seq: string | number | null;
  error: string | null;
  effects_merged: string | number | null;
  finished_at: Date | string | null;
  stale: boolean;
}

const iso = (v: Date | string) => new Date(v).toISOString();
const num = (v: string | number) => Number(v);

function record(r: Row): RebuildRecord {
  return {
    consumer: r.consumer,
    // A running rebuild whose lease ran out is gone: interrupted, to be started again.
    status: r.status === 'running' && r.stale ? 'interrupted' : (r.status as RebuildStatus),
    owner: r.owner,
    heartbeatAt: iso(r.heartbeat_at),
    startedAt: iso(r.started_at),
    startedBy: r.started_by,
    reason: r.reason,
    onFailure: r.on_failure as OnFailure,
    shadowSchema: r.shadow_schema,
    targetSeq: num(r.target_seq),
    appliedSeq: num(r.applied_seq),
    applied: num(r.applied),
    skipped: num(r.skipped),
    deadLettered: num(r.dead_lettered),
    failedSeq: r.failed_seq === null ? null : num(r.failed_seq),
    error: r.error,
    effectsMerged: r.effects_merged === null ? null : num(r.effects_merged),
    finishedAt: r.finished_at === null ? null : iso(r.finished_at),
  };
}

const STALE = `(heartbeat_at < clock_timestamp() - $LEASE * interval '1 millisecond') AS stale`;
const returning = (lease: number) => `RETURNING *, ${STALE.replace('$LEASE', String(lease))}`;

export async function readRecord(
  db: Sql,
  consumer: string,
  leaseMs = REBUILD_LEASE_MS,
): Promise<RebuildRecord | null> {
  const { rows } = await db.query<Row>(
    `SELECT *, ${STALE.replace('$LEASE', String(leaseMs))} FROM cohort_rebuilds WHERE consumer = $1`,
    [consumer],
  );
  return rows[0] ? record(rows[0]) : null;
}

export interface Claim {
  consumer: string;
  owner: string;
  startedBy: Actor;
  reason: string;
  onFailure: OnFailure;
  shadowSchema: string;
  targetSeq: number;
}

/**
 * Takes the projection's lease for `owner`: null while another rebuild of it runs (its lease
 * renewed). A rebuild that was interrupted or failed is resumed from where it was; one that
 * swapped starts over from sequence 1.
 */
export async function claimLease(
  db: Sql,
  c: Claim,
  leaseMs = REBUILD_LEASE_MS,
): Promise<{ record: RebuildRecord; resumed: boolean } | null> {
  const fresh = `CASE WHEN r.status = 'swapped' THEN 0 ELSE r.`;
  const { rows } = await db.query<Row & { resumed: boolean }>(
    `INSERT INTO cohort_rebuilds AS r (consumer, status, owner, heartbeat_at, started_at,
       started_by, reason, on_failure, shadow_schema, target_seq)
     VALUES ($1, 'running', $2, clock_timestamp(), clock_timestamp(), $3, $4, $5, $6, $7)
     ON CONFLICT (consumer) DO UPDATE SET
       status = 'running', owner = EXCLUDED.owner, heartbeat_at = EXCLUDED.heartbeat_at,
       started_at = EXCLUDED.started_at, started_by = EXCLUDED.started_by,
       reason = EXCLUDED.reason, on_failure = EXCLUDED.on_failure,
       shadow_schema = EXCLUDED.shadow_schema, target_seq = EXCLUDED.target_seq,
       applied_seq = ${fresh}applied_seq END,
       applied = ${fresh}applied END,
       skipped = ${fresh}skipped END,
       dead_lettered = ${fresh}dead_lettered END,
       failed_seq = NULL, error = NULL, effects_merged = NULL, finished_at = NULL
     WHERE r.status <> 'running'
       OR r.heartbeat_at < clock_timestamp() - $8 * interval '1 millisecond'
     ${returning(leaseMs)}, (r.applied_seq > 0) AS resumed`,
    [
      c.consumer,
      c.owner,
      JSON.stringify(c.startedBy),
      c.reason,
      c.onFailure,
      c.shadowSchema,
      c.targetSeq,
      leaseMs,
    ],
  );
  const row = rows[0];
  return row ? { record: record(row), resumed: row.resumed } : null;
}

/** What a batch did to the shadow, recorded once it committed. */
export interface Progress {
  appliedSeq: number;
  applied: number;
  skipped: number;
  deadLettered: number;
}

/**
 * Records progress and renews the lease; false when the lease is no longer `owner`'s (it ran
 * out and another rebuild took it): this one must stop.
 */
export async function recordProgress(
  db: Sql,
  consumer: string,
  owner: string,
  p: Progress,
): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE cohort_rebuilds SET heartbeat_at = clock_timestamp(),
       applied_seq = GREATEST(applied_seq, $3), applied = applied + $4, skipped = skipped + $5,
       dead_lettered = dead_lettered + $6
     WHERE consumer = $1 AND owner = $2 AND status = 'running'`,
    [consumer, owner, p.appliedSeq, p.applied, p.skipped, p.deadLettered],
  );
  return rowCount === 1;
}

/** Ends the rebuild as `status`, if `owner` still holds it. */
export async function finish(
  db: Sql,
  consumer: string,
  owner: string,
  status: Exclude<RebuildStatus, 'running'>,
  details: { failedSeq?: number; error?: string; effectsMerged?: number } = {},
): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE cohort_rebuilds SET status = $3, finished_at = clock_timestamp(),
       heartbeat_at = clock_timestamp(), failed_seq = $4, error = $5, effects_merged = $6
     WHERE consumer = $1 AND owner = $2 AND status = 'running'`,
    [
      consumer,
      owner,
      status,
      details.failedSeq ?? null,
      details.error ?? null,
      details.effectsMerged ?? null,
    ],
  );
  return rowCount === 1;
}

/** Another rebuild of the projection holds its lease. */
export class RebuildRunning extends Error {
  override readonly name = 'RebuildRunning';
  constructor(readonly record: RebuildRecord | null) {
    super(
      `${record?.consumer ?? 'this projection'} is being rebuilt already` +
        (record ? ` (started ${record.startedAt} by ${record.startedBy.id})` : ''),
    );
  }
}

/** Another rebuild took the lease (this one's ran out): this one ends, changing nothing more. */
export class LeaseLost extends Error {
  constructor() {
    super('the rebuild lost its lease');
  }
}

/** The migrations of the rebuild's own table, run on the service's store before any rebuild. */
export function migrateRebuilds(store: SqlStore): Promise<number> {
  return store.migrate(REBUILD_NAMESPACE, REBUILD_MIGRATIONS);
}
