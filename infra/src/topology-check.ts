import { JetStreamApiCodes, JetStreamApiError, jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamManager } from '@nats-io/jetstream';
import type { Connection } from './connection.js';
import { isPermissionViolation } from './errors.js';
import { provision, streamExists, type ProvisionAction, type Topology } from './topology.js';

/** What a process found of the topology it needs, and what it could do about it. */
export interface TopologyCheck {
  /** What it provisioned: every resource, when its NATS user may provision. */
  actions: ProvisionAction[];
  /** Why it provisioned less: the server's refusal, when its user may not change what differs. */
  refused: string[];
  /** What does not exist (`stream X`, `bucket Y`, `consumer S/N`): empty when all is there. */
  missing: string[];
}

async function consumerExists(jsm: JetStreamManager, stream: string, name: string) {
  try {
    await jsm.consumers.info(stream, name);
    return true;
  } catch (e) {
    if (e instanceof JetStreamApiError && e.code === JetStreamApiCodes.ConsumerNotFound) {
      return false;
    }
    if (e instanceof JetStreamApiError && e.code === JetStreamApiCodes.StreamNotFound) {
      return false;
    }
    throw e;
  }
}

/** The resources of `topo` that do not exist. */
export async function missingTopology(jsm: JetStreamManager, topo: Topology): Promise<string[]> {
  const missing: string[] = [];
  for (const s of topo.streams) {
    if (!(await streamExists(jsm, s.name))) missing.push(`stream ${s.name}`);
  }
  for (const b of topo.buckets) {
    if (!(await streamExists(jsm, `KV_${b.name}`))) missing.push(`bucket ${b.name}`);
  }
  for (const c of topo.consumers) {
    if (!(await consumerExists(jsm, c.stream, c.name)))
      missing.push(`consumer ${c.stream}/${c.name}`);
  }
  return missing;
}

/**
 * Provisions `topo` as far as the connection's NATS user may, and says what is still missing.
 *
 * Provisioning reads before it writes, so a user that may not provision (every user but admin)
 * goes through unharmed while the topology is as wanted. Where something differs, the server's
 * refusal is kept and the topology is verified instead: a difference in what may change in place
 * (a limit) leaves a working topology; a missing stream or bucket does not. Streams and buckets
 * come first, then the durables, which a service may create and update itself even when it may
 * not touch a stream. Any other error (a stream that cannot change in place) is thrown.
 */
export async function provisionOrVerify(conn: Connection, topo: Topology): Promise<TopologyCheck> {
  const jsm = await jetstreamManager(conn.nc);
  const check: TopologyCheck = { actions: [], refused: [], missing: [] };
  const phases: Topology[] = [
    { ...topo, consumers: [] },
    { streams: [], buckets: [], consumers: topo.consumers },
  ];
  for (const phase of phases) {
    try {
      check.actions.push(...(await provision(conn, jsm, phase)));
    } catch (e) {
      if (!isPermissionViolation(e)) throw e;
      check.refused.push((e as Error).message);
      check.missing.push(...(await missingTopology(jsm, phase)));
    }
  }
  return check;
}
