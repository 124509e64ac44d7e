import { alertSubject, complianceSubject, parseMonitoringEvent, Streams } from '@cohort/contracts';
import {
  commandHandler,
  JetStreamEventStore,
  type Connection,
  type EventStore,
} from '@cohort/infra';
import { alertDecider } from './alert.js';
import { findingsDecider } from './findings.js';

/** Where monitoring's aggregates live: alerts and diaries' findings, in MONITORING. */
export interface MonitoringStores {
  alerts: EventStore;
  findings: EventStore;
}

/** An aggregate id of two subject tokens (which hold no dot): trial and alert, or trial and patient. */
export const pairId = (trialId: string, id: string) => `${trialId}.${id}`;
const split = (id: string): [string, string] => {
  const [a = '', b = ''] = id.split('.');
  return [a, b];
};

export async function openStores(conn: Connection): Promise<MonitoringStores> {
  const stream = Streams.MONITORING.name;
  return {
    alerts: await JetStreamEventStore.open(conn, stream, (id) => alertSubject(...split(id))),
    findings: await JetStreamEventStore.open(conn, stream, (id) => complianceSubject(...split(id))),
  };
}

/** The command handler of alerts (aggregate id: `pairId(trialId, alertId)`). */
export const alerts = (store: EventStore) =>
  commandHandler(store, alertDecider, parseMonitoringEvent);

/** The command handler of non-compliance findings (aggregate id: `pairId(trialId, patientId)`). */
export const findings = (store: EventStore) =>
  commandHandler(store, findingsDecider, parseMonitoringEvent);
