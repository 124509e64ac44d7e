// The backlog the projection benchmark drains: diary entries of one active trial, published to
// REPORTS, with a safety rule that monitoring checks each of them against.
import { newEventId, protocolSubject, reportSubject } from '@cohort/contracts';
import { JetStreamEventStore, Publisher, type Connection } from '@cohort/infra';
import {
  connect,
  provision,
  topology,
  NatsServer,
  reportSubmitted,
  trialsIn,
} from '@cohort/infra/testing';
import { jetstreamManager } from '@nats-io/jetstream';

/** Patients the reports are spread over. */
const PATIENTS = 1_000;
const enc = new TextEncoder();

/** `n` valid ReportSubmitted events of the trial BENCH. */
export function events(n: number) {
  return Array.from({ length: n }, (_, i) =>
    reportSubmitted({ trialId: 'BENCH', patientId: `P${i % PATIENTS}` }),
  );
}

export type Report = ReturnType<typeof events>[number];

/** Provisions the topology and the trial on `nats`, then publishes `n` reports. */
export async function fillBacklog(nats: NatsServer, n: number) {
  const conn = await connect({ servers: nats.url, name: 'bench-fill' });
  await provision(conn, await jetstreamManager(conn.nc), topology());
  await benchTrial(conn);
  const p = new Publisher(conn);
  const inFlight: Promise<unknown>[] = [];
  for (const e of events(n)) {
    inFlight.push(
      p.publish(reportSubject(e.data.trialId, e.data.patientId), enc.encode(JSON.stringify(e)), {
        msgId: e.id,
      }),
    );
    if (inFlight.length >= 1_000) await Promise.all(inFlight.splice(0));
  }
  await Promise.all(inFlight);
  return conn;
}

/**
 * The backlog's trial in PROJECTS, active, with a safety rule on the item every report answers
 * (a threshold no answer meets): monitoring checks each report against it, as it would in a
 * trial, and raises nothing. The other subscribers ignore these events.
 */
async function benchTrial(conn: Connection) {
  await trialsIn(conn, ['BENCH']);
  const store = await JetStreamEventStore.open(conn, 'PROJECTS', protocolSubject);
  const now = new Date().toISOString();
  await store.append(
    'BENCH',
    [
      {
        id: newEventId(),
        type: 'SafetyRuleSet',
        version: 1,
        occurredAt: now,
        recordedAt: now,
        source: 'bench',
        actor: { id: 'bench', role: 'sponsor' },
        reason: 'bench',
        correlationId: 'bench',
        causationId: 'bench',
        data: {
          projectId: 'BENCH',
          rule: {
            ruleId: 'never',
            questionnaireId: 'Q',
            itemId: 'a',
            condition: { kind: 'at-least', value: 1_000 },
            severity: 'low',
            acknowledgeWithinMinutes: 60,
          },
        },
      },
    ],
    0,
  );
}
